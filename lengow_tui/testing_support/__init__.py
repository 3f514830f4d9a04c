"""Harnesses shared by the benchmarks (``bench/``) and the test suite. Not used by the application."""
