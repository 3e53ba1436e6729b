"""Measuring a running program from outside: the sampler process (per-core and per-thread CPU, peak memory),
its /proc readers, and `perf stat` counters.
May import: the standard library, psutil and polylab.results.schema (the record parts and column names it fills,
standard library only). Nothing else of polylab, so the sampler process starts lean.
"""
