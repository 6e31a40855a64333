"""The `truth:` section of a suite: the settings every truth score depends on, and the
seed tag of the truth stream."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from vbench.metrics.fvd import PROFILES as FVD_PROFILES


TRUTH_STREAM = 0x74727468  # "trth": tags the truth stream's seed key (see the module docstring)
DISTANCES = ("lpips", "pixel")


@dataclass(frozen=True)
class TruthConfig:
    """The ``truth`` section of a suite: everything besides the model and S that changes these numbers.

    k: true futures drawn per test context (another k more are drawn for the noise-floor
    references). distance: ``"lpips"`` (alex-v0.1) or ``"pixel"`` (MSE; rewards blur, see the
    module docstring). neighbours: the k of the k-NN radius of the match threshold (< k).
    with_fvd: also compute the conditional FVD / KVD (slow on CPU). truth_seed: selects an
    independent truth stream. fvd_profile, fvd_frames: as the suite's FVD settings.
    """

    k: int = 20
    distance: str = "lpips"
    neighbours: int = 5
    with_fvd: bool = False
    truth_seed: int = 0
    fvd_profile: str = "tf"
    fvd_frames: str = "context+predicted"

    def __post_init__(self) -> None:
        if self.distance not in DISTANCES:
            raise ValueError(f"truth distance must be one of {', '.join(DISTANCES)}; got {self.distance!r}")
        if not 1 <= self.neighbours < self.k:
            raise ValueError(f"truth needs 1 <= neighbours < k; got neighbours={self.neighbours}, k={self.k}")
        if self.truth_seed < 0:
            raise ValueError(f"truth_seed must be >= 0; got {self.truth_seed}")
        if self.fvd_profile not in FVD_PROFILES:
            raise ValueError(f"fvd_profile must be one of {', '.join(FVD_PROFILES)}; got {self.fvd_profile!r}")
        if self.fvd_frames not in ("context+predicted", "predicted"):
            raise ValueError(f"fvd_frames must be 'context+predicted' or 'predicted'; got {self.fvd_frames!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
