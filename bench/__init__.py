"""Benchmarks: how fast, how big, and how the cost grows (issue 6). `make bench` runs them all;
each module also runs alone: `python -m bench.lifecycle --scale smoke`."""
