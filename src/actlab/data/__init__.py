"""Datasets: loaders of the original formats, verified downloads, preprocessing."""

from actlab.data.datasets import LOADERS, Dataset, load
from actlab.data.download import DatasetError
from actlab.data.preprocess import METHODS, preprocess

__all__ = ["LOADERS", "METHODS", "Dataset", "DatasetError", "load", "preprocess"]
