"""Who holds a run: the lease that tells a live run from a dead one.

The process writing a run records itself as the run's holder (host, pid and the pid's start time,
so a recycled pid is not mistaken for the holder) and renews a heartbeat every HEARTBEAT_S seconds
from a background thread, which also beats while the model is busy inside one long batch. A stored
`running` run is *abandoned* when its holder is on this host and that process is gone, or when its
heartbeat is older than STALE_AFTER_S (the only test possible for a holder on another host).
Acquiring and checking the lease happen inside the store's write transactions (vbench.store), so
of two processes at most one holds a run at a time.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HEARTBEAT_S = 30.0          # seconds between renewals of a live run's heartbeat
STALE_AFTER_S = 300.0       # a heartbeat older than this (ten missed renewals) marks the run abandoned
# SQL condition "the run is running and held by this holder"; parameters: Holder.key()
HELD_BY = "status = 'running' AND holder_host = ? AND holder_pid = ? AND holder_started = ?"


@dataclass(frozen=True)
class Holder:
    """A process: host name, pid, and the pid's start time as the kernel reports it ('' where unknown)."""
    host: str
    pid: int
    started: str

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host}"

    def key(self) -> tuple[str, int, str]:
        """The parameters of HELD_BY."""
        return self.host, self.pid, self.started


def process_start(pid: int) -> str:
    """Start time of process `pid` in clock ticks since boot (Linux /proc); '' where it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) is in parentheses and may hold spaces; starttime is field 22.
    return stat.rpartition(")")[2].split()[19]


def this_process() -> Holder:
    pid = os.getpid()
    return Holder(platform.node(), pid, process_start(pid))


def holder_alive(holder: Holder) -> bool | None:
    """Is `holder` still running? None when it is on another host (only its heartbeat can tell)."""
    if holder.host != platform.node():
        return None
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:         # exists, owned by another user
        pass
    return not holder.started or process_start(holder.pid) in ("", holder.started)


def is_abandoned(holder: Holder | None, heartbeat: float | None, now: float | None = None) -> bool:
    """A `running` run whose holder is gone, or whose heartbeat is older than STALE_AFTER_S."""
    if holder is None or heartbeat is None:        # written before leases existed: nobody renews it
        return True
    if (time.time() if now is None else now) - heartbeat > STALE_AFTER_S:
        return True
    return holder_alive(holder) is False


class Heartbeat:
    """Renews the heartbeat of `run_id` every HEARTBEAT_S seconds from a daemon thread, over its own
    connection, for as long as this process holds the run (a lost lease is noticed by the writer)."""

    def __init__(self, path: str | Path, run_id: str, holder: Holder, interval: float = HEARTBEAT_S):
        self.path, self.run_id, self.holder, self.interval = Path(path), run_id, holder, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"vbench-heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        try:
            while not self._stop.wait(self.interval):
                try:
                    conn.execute(f"UPDATE runs SET heartbeat = ? WHERE id = ? AND {HELD_BY}",
                                 (time.time(), self.run_id, *self.holder.key()))
                except sqlite3.Error:   # busy store: the next beat tries again, well inside STALE_AFTER_S
                    continue
        finally:
            conn.close()
