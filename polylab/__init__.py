"""polylab: run one concurrency workload in many languages and measure how each runtime uses the cores."""

__version__ = "0.1.0"
