"""Measuring a running program from outside: the sampler process (per-core and per-thread CPU, peak memory),
its /proc readers, and `perf stat` counters.
May import: the standard library and psutil. Nothing else of polylab, so the sampler process starts lean.
"""
