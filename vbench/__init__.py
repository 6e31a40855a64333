"""vbench: evaluation harness for stochastic video prediction.

From Python: `vbench.evaluate(model, suite)` scores a model as `vbench run` does and returns a
`vbench.Result`; `vbench.load_runs(store)` reads a store's runs as a DataFrame; `vbench.metrics`
holds the metrics as functions of tensors and as streaming torchmetrics objects.
"""

__version__ = "0.1.0"
__all__ = ["Result", "evaluate", "load_runs"]


def __getattr__(name: str):   # no typing import: it would double the cost of `import vbench`
    """The Python API, imported on first use so that `import vbench` (and the CLI's start) stays light."""
    if name in __all__:
        from vbench import api
        return getattr(api, name)
    raise AttributeError(f"module 'vbench' has no attribute '{name}'")
