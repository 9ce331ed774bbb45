"""Training: the torch engine (many models at once), the NumPy reference engine, optimizers, metrics."""
