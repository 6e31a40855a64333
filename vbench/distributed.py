"""Evaluation past one process: `torchrun --nproc_per_node N -m vbench run ...` (multi-node too).

Test videos are sharded by index, `videos[rank::world]`: every video exactly once, no padding and
no duplicates (unlike `DistributedSampler`, which pads the last shard with repeated samples).
Each rank scores its shard; the results of every round are gathered on rank 0, the only process
that writes to the store, computes FVD and shows progress. NCCL on GPUs, gloo on CPU.

Without torchrun (no `WORLD_SIZE` in the environment, or 1) everything here is a no-op and the
run is a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


def shard(items: Sequence[T], rank: int, world: int) -> list[T]:
    """The items rank `rank` of `world` handles: `items[rank::world]` (disjoint, complete, no padding)."""
    if not 0 <= rank < world:
        raise ValueError(f"rank {rank} is not in a world of {world}")
    return list(items[rank::world])


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def device(self, requested: str | None) -> str | None:
        """Each rank's device: `cuda:<local rank>` on GPUs unless the user named one explicitly."""
        if not self.active or requested == "cpu" or not torch.cuda.is_available():
            return requested
        return f"cuda:{self.local_rank}" if requested in (None, "cuda") else requested

    def broadcast(self, value: T) -> T:
        """Rank 0's `value` on every rank."""
        if not self.active:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list[Any] | None:
        """Every rank's `value`, in rank order, on rank 0 (None elsewhere)."""
        if not self.active:
            return [value]
        out = [None] * self.world if self.is_main else None
        dist.gather_object(value, out, dst=0)
        return out

    def all_ok(self, ok: bool) -> bool:
        """True on every rank only if `ok` on every rank (so all ranks stop together on an error)."""
        if not self.active:
            return ok
        flags = [None] * self.world
        dist.all_gather_object(flags, bool(ok))
        return all(flags)


def is_main_process() -> bool:
    """False on the ranks of a torchrun launch other than 0 (they print nothing)."""
    return int(os.environ.get("RANK", "0")) == 0


def init_from_env(requested_device: str | None) -> Context:
    """Join the process group torchrun describes in the environment (idempotent); else one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Context()
    context = Context(rank=int(os.environ["RANK"]), world=world, local_rank=int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        use_nccl = torch.cuda.is_available() and requested_device != "cpu"
        if use_nccl:
            torch.cuda.set_device(context.local_rank)
        dist.init_process_group(backend="nccl" if use_nccl else "gloo")
    return context
