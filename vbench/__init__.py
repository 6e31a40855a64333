"""vbench: evaluation harness for stochastic video prediction."""

__version__ = "0.1.0"
