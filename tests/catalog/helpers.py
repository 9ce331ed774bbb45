"""Shared lists of catalog entries for the catalog tests."""

import actlab

ALL = actlab.names()
ELEMENTWISE = [n for n in ALL if not actlab.spec(n).gated]
GATED = [n for n in ALL if actlab.spec(n).gated]
