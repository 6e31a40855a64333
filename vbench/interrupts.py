"""Stopping long work on a signal without losing any of it.

SIGINT (Ctrl-C), SIGTERM (a scheduler, `timeout`, `kill`) and SIGHUP (a closed terminal) all mean
"stop": the first one sets a flag that the work checks at its next safe point (after the batch in
hand is committed, after the training step in hand is saved); a second one stops at once. Work with
no safe point to wait for asks for `at_once`.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """Stopped by a signal; `signum` is the signal (SIGINT for a Ctrl-C or a KeyboardInterrupt)."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum            # what a shell reports for a process ended by the signal


class StopSignals:
    """Context manager: while inside, the stop signals set `requested` (the first) or raise
    Interrupted (a second, or any while `at_once`). The previous handlers come back on exit."""

    def __init__(self, waiting_for: str):
        self.waiting_for = waiting_for      # e.g. "this batch is stored", shown when a signal comes
        self.requested: int | None = None
        self.at_once = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopSignals":
        try:
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        except ValueError:          # not the main thread: no handlers, signals act as usual
            pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested is not None or self.at_once:
            raise Interrupted(signum)
        self.requested = signum
        print(f"\n{signal.Signals(signum).name}: stopping once {self.waiting_for} (again to stop at once)",
              file=sys.stderr)

    def check(self) -> None:
        """At a safe point: raise Interrupted if a stop was requested."""
        if self.requested is not None:
            raise Interrupted(self.requested)

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
