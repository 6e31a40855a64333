"""The one exception family vbench raises for user-facing problems.

The CLI prints these as a single readable line (no traceback); anything else is a bug.
"""


class VBenchError(Exception):
    """A problem the user can fix: bad suite file, unknown model, invalid model output, missing data."""


class SuiteError(VBenchError):
    """A suite YAML file is malformed or breaks the schema."""


class ModelError(VBenchError):
    """A model cannot be resolved or built, or its output breaks the adapter contract."""


class DatasetNotPrepared(VBenchError):
    """A suite needs a dataset that has not been prepared under the data root."""


class RunBusy(VBenchError):
    """A run is held by another live process (or this process lost its hold): nothing is written."""


class NothingToResume(VBenchError):
    """`--resume` found no unfinished run identical to the request; the message says what differs."""


class MetricInputError(VBenchError, ValueError):
    """A metric function was given tensors outside its contract (type, shape, value range)."""


class SummaryError(VBenchError):
    """A stored run summary is malformed or was written by a newer vbench (vbench.results.RunSummary)."""
