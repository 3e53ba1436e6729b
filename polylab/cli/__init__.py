"""The commands behind tasks.py: run, build, doctor, new-lang and the shipped benchmarks.
May import every other room of polylab. Never analysis: tasks.py wires the report and compare commands.
"""
