"""Activation search: a grammar of candidate formulas (space), trees and their formulas (tree), enumeration and
seeded samples (enumeration), mutation and crossover (evolve), and the screening before any training — dedup,
filters and proxies (screen, proxies)."""
