"""Experiments: TOML sweeps, the SQLite store, executors, recipes."""
