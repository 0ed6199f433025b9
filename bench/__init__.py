"""Benchmarks: tether against the direct path, side by side in one run, reported as ratios."""
