"""The benchmark suite of iom-audit: every speed target measured, against the machine's floor.

`python -m benchmarks.run` (or `make bench`) builds what it needs in a work directory,
measures each figure in its own subprocess (time and peak memory), and writes
BENCHMARKS.md. See `benchmarks.run` for the options.
"""
