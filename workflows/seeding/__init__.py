"""Synthetic cases for benchmarks and the demo, driven through the real rules."""
