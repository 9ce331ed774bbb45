"""Verification of activations: high-precision references and the checks of `actlab check`, the same the test suite
applies to the built-ins, as a library a user can call."""
