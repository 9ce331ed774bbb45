"""Side-by-side benchmarks (``make bench``); not part of the installed package."""
