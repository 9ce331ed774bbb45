"""Evaluating catalog specs on arrays: NumPy and PyTorch."""
