"""Benchmarks (``make bench``): page timings on large databases next to the raw SQL behind them."""
