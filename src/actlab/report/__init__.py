"""Reports: figures, tables and generated documentation."""
