"""The result store: one SQLite file holding run manifests, per-frame scores and summaries.

Tables
  runs          one row per run: manifest (JSON), status, summary (JSON of vbench.results.RunSummary)
                once finished, and its lease: the process holding it (host, pid, pid start time) and
                that process's last heartbeat
  video_scores  per (run, test video, metric): float32 blob [S, T] (sample, predicted frame);
                also "diversity" [1, T] and, for SM-MNIST suites with truth scores, "truth/<name>"
                (TRUTH_PREFIX): per-frame curves [1, T], every other truth number [1, 1]
  video_features per (run, test video, kind): float32 blob [K, D] (I3D features of K clips)
  feature_cache I3D features of real clips, keyed by what determines them (suite, profile, weights)
  video_strips  per (run, test video) for the first few videos only: uint8 frames [R, T, C, H, W]
                (ground truth, best sample, a few random samples), zlib-compressed, for the report

Every batch of videos is written in one transaction, so an interrupted run holds only whole
batches and `--resume` continues after the last one. WAL mode lets several runs write to one file.

A run's life: `running` while its holder works (vbench.lease), then `finished`, `failed` (an error,
recorded) or `interrupted` (a signal); a `running` run whose holder died reads `abandoned`. Taking a
run over (`acquire`) and every batch write check the lease inside the write transaction, so two
processes never both write one run.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from vbench.errors import RunBusy, VBenchError
from vbench.lease import HELD_BY, Holder, is_abandoned, this_process
from vbench.results import BatchScores, RunSummary

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    suite TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,            -- running | finished | failed | interrupted (abandoned: derived)
    created REAL NOT NULL,
    finished REAL,
    manifest TEXT NOT NULL,
    summary TEXT,
    error TEXT,
    holder_host TEXT,                -- the process that holds (or last held) the run
    holder_pid INTEGER,
    holder_started TEXT,
    heartbeat REAL                   -- last renewal by the holder (time.time())
);
CREATE INDEX IF NOT EXISTS runs_identity ON runs(identity, status);
CREATE TABLE IF NOT EXISTS video_scores (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    video INTEGER NOT NULL,
    metric TEXT NOT NULL,
    num_samples INTEGER NOT NULL,
    num_frames INTEGER NOT NULL,
    scores BLOB NOT NULL,            -- float32 [num_samples, num_frames], little endian
    PRIMARY KEY (run_id, video, metric)
);
CREATE TABLE IF NOT EXISTS video_features (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    video INTEGER NOT NULL,
    kind TEXT NOT NULL,
    rows INTEGER NOT NULL,
    dim INTEGER NOT NULL,
    features BLOB NOT NULL,          -- float32 [rows, dim]
    PRIMARY KEY (run_id, video, kind)
);
CREATE TABLE IF NOT EXISTS video_flags (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    video INTEGER NOT NULL,
    flag TEXT NOT NULL,              -- e.g. context-echo: suspicious, reported, not an error
    PRIMARY KEY (run_id, video, flag)
);
CREATE TABLE IF NOT EXISTS video_strips (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    video INTEGER NOT NULL,
    context INTEGER NOT NULL,        -- leading frames of every row that are the context
    rows TEXT NOT NULL,              -- JSON [{"label": ..., "sample": k or null}] per row
    shape TEXT NOT NULL,             -- JSON [R, T, C, H, W]
    frames BLOB NOT NULL,            -- zlib(uint8 [R, T, C, H, W])
    PRIMARY KEY (run_id, video)
);
CREATE TABLE IF NOT EXISTS feature_cache (
    key TEXT NOT NULL,
    video INTEGER NOT NULL,
    dim INTEGER NOT NULL,
    features BLOB NOT NULL,          -- float32 [dim]
    PRIMARY KEY (key, video)
);
"""

DEFAULT_STORE = Path("vbench-results.sqlite")
TRUTH_PREFIX = "truth/"      # video_scores rows of vbench.truth scores: "truth/coverage", "truth/position_w1", ...


LEASE_COLUMNS = (("holder_host", "TEXT"), ("holder_pid", "INTEGER"), ("holder_started", "TEXT"),
                 ("heartbeat", "REAL"))


@dataclass(frozen=True)
class RunRecord:
    id: str
    suite: str
    model: str
    status: str                      # running | finished | failed | interrupted | abandoned
    created: float
    finished: float | None
    manifest: dict[str, Any]
    stored_summary: dict[str, Any] | None    # the summary's JSON as stored, once finished
    error: str | None
    holder: Holder | None = None     # who holds (or last held) the run
    heartbeat: float | None = None

    @cached_property
    def summary(self) -> RunSummary | None:
        """The typed summary, parsed on first use: a run with an unreadable summary (malformed, or from
        a newer vbench) still lists, shows its status and can be removed; only what reads its scores fails."""
        return RunSummary.from_dict(self.stored_summary, self.id) if self.stored_summary is not None else None

    @property
    def live(self) -> bool:
        return self.status == "running"        # abandoned runs read as such (see _record)


def _blob(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype="<f4").tobytes()


def _unblob(blob: bytes, *shape: int) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").reshape(shape)


class Store:
    def __init__(self, path: str | Path = DEFAULT_STORE):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)
        self._add_lease_columns()

    def _add_lease_columns(self) -> None:
        """Stores written before runs had leases gain the columns (their old runs have no holder)."""
        present = {row[1] for row in self.conn.execute("PRAGMA table_info(runs)")}
        missing = [(name, kind) for name, kind in LEASE_COLUMNS if name not in present]
        if missing:
            with self._transaction():
                for name, kind in missing:
                    self.conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self):
        return _Transaction(self.conn)

    # -- runs ---------------------------------------------------------------------------------
    def create_run(self, manifest: dict[str, Any], identity: str, holder: Holder | None = None) -> str:
        """A new run, held by `holder` (default: this process) from the start."""
        holder = holder or this_process()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        safe_model = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in manifest["model"]["name"])[:40]
        run_id = f"{stamp}-{manifest['suite']['name']}-{safe_model}-{secrets.token_hex(3)}"
        now = time.time()
        with self._transaction():
            self.conn.execute(
                "INSERT INTO runs (id, identity, suite, model, status, created, manifest, holder_host, holder_pid, "
                "holder_started, heartbeat) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, identity, manifest["suite"]["name"], manifest["model"]["name"], "running", now,
                 json.dumps(manifest, sort_keys=True), *holder.key(), now))
        return run_id

    def runs_with_identity(self, identity: str) -> list[RunRecord]:
        """Every run with this identity (same suite, model, arguments, data, overrides), newest first."""
        return self.runs(where="identity = ?", params=(identity,))[::-1]

    def acquire(self, run_id: str, holder: Holder) -> None:
        """Take over an interrupted, abandoned or failed run for `holder`, atomically: of two processes
        racing for one run, the second finds it live and gets RunBusy naming the first."""
        with self._transaction():
            record = self.run(run_id)
            if record.status == "finished":
                raise RunBusy(f"run {run_id} has finished in the meantime; nothing to resume (vbench show {run_id})")
            if record.live:
                raise RunBusy(f"run {run_id} is running in {record.holder.describe()} (heartbeat "
                              f"{time.time() - record.heartbeat:.0f} s ago); wait for it, or stop that process "
                              "and resume then")
            self.conn.execute("UPDATE runs SET status = 'running', error = NULL, holder_host = ?, holder_pid = ?, "
                              "holder_started = ?, heartbeat = ? WHERE id = ?", (*holder.key(), time.time(), run_id))

    def _renew(self, run_id: str, holder: Holder, **columns: Any) -> None:
        """Inside a transaction: renew the heartbeat (and set `columns`) if `holder` still holds the run."""
        sets = ", ".join(f"{name} = ?" for name in ["heartbeat", *columns])
        cursor = self.conn.execute(f"UPDATE runs SET {sets} WHERE id = ? AND {HELD_BY}",
                                   (time.time(), *columns.values(), run_id, *holder.key()))
        if cursor.rowcount != 1:
            raise RunBusy(f"run {run_id}: this process ({holder.describe()}) no longer holds it (another process "
                          "took it over after its heartbeat went stale); nothing more is written")

    def release(self, run_id: str, holder: Holder, status: str, error: str | None = None) -> None:
        """End `holder`'s hold on the run as 'interrupted' or 'failed' (with the error); a run held by
        another process by now is left alone."""
        with self._transaction():
            self.conn.execute(f"UPDATE runs SET status = ?, error = ? WHERE id = ? AND {HELD_BY}",
                              (status, error, run_id, *holder.key()))

    def finish(self, run_id: str, summary: RunSummary, holder: Holder | None = None) -> None:
        with self._transaction():
            self._renew(run_id, holder or this_process(), status="finished", finished=time.time(),
                        summary=json.dumps(summary.to_dict()), error=None)

    def delete_runs(self, run_ids: list[str]) -> None:
        """Remove runs with their scores, features, flags and strips in one transaction; a live run is refused."""
        with self._transaction():
            for run_id in run_ids:
                record = self.run(run_id)
                if record.live:
                    raise RunBusy(f"run {run_id} is running in {record.holder.describe()}; stop it first "
                                  "(nothing was removed)")
                self.conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def find_run(self, text: str) -> RunRecord:
        """The run whose id is `text`, or the only one whose id contains it."""
        exact = self.runs(where="id = ?", params=(text,))
        if exact:
            return exact[0]
        matches = self.runs(where="instr(id, ?) > 0", params=(text,)) if text else []
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise VBenchError(f"no run '{text}' in {self.path} (`vbench ls runs --store {self.path}` lists them)")
        raise VBenchError(f"'{text}' matches {len(matches)} runs in {self.path}: "
                          + ", ".join(r.id for r in matches[:5]) + ("..." if len(matches) > 5 else ""))

    def run(self, run_id: str) -> RunRecord:
        rows = self.runs(where="id = ?", params=(run_id,))
        if not rows:
            raise KeyError(f"no run '{run_id}' in {self.path}")
        return rows[0]

    def runs(self, where: str = "1", params: Iterable[Any] = ()) -> list[RunRecord]:
        cursor = self.conn.execute(
            f"SELECT id, suite, model, status, created, finished, manifest, summary, error, holder_host, "
            f"holder_pid, holder_started, heartbeat FROM runs WHERE {where} ORDER BY created", tuple(params))
        return [_record(row) for row in cursor.fetchall()]

    # -- per-video rows -----------------------------------------------------------------------
    def done_videos(self, run_id: str) -> set[int]:
        return {r[0] for r in self.conn.execute("SELECT DISTINCT video FROM video_scores WHERE run_id = ? "
                                                "UNION SELECT DISTINCT video FROM video_features "
                                                "WHERE run_id = ?", (run_id, run_id))}

    def write_batch(self, run_id: str, batch: BatchScores, holder: Holder | None = None) -> None:
        """Atomically store a batch of scored test videos (vbench.results.BatchScores). With `holder`,
        nothing is written unless that process still holds the run (RunBusy)."""
        with self._transaction():
            if holder is not None:
                self._renew(run_id, holder)
            for flag, flagged in batch.flags.items():
                self.conn.executemany("INSERT INTO video_flags (run_id, video, flag) VALUES (?,?,?)",
                                      [(run_id, v, flag) for v in flagged])
            for metric, array in batch.scores.items():
                _, s, t = array.shape
                self.conn.executemany(
                    "INSERT INTO video_scores (run_id, video, metric, num_samples, num_frames, scores) "
                    "VALUES (?,?,?,?,?,?)",
                    [(run_id, v, metric, s, t, _blob(array[i])) for i, v in enumerate(batch.videos)])
            for kind, array in batch.features.items():
                _, k, d = array.shape
                self.conn.executemany(
                    "INSERT INTO video_features (run_id, video, kind, rows, dim, features) VALUES (?,?,?,?,?,?)",
                    [(run_id, v, kind, k, d, _blob(array[i])) for i, v in enumerate(batch.feature_videos)])
            for video, strip in batch.strips.items():
                frames = np.ascontiguousarray(strip["frames"], dtype=np.uint8)
                self.conn.execute(
                    "INSERT INTO video_strips (run_id, video, context, rows, shape, frames) VALUES (?,?,?,?,?,?)",
                    (run_id, video, int(strip["context"]), json.dumps(strip["rows"]), json.dumps(frames.shape),
                     zlib.compress(frames.tobytes())))

    def scores(self, run_id: str) -> tuple[list[int], dict[str, np.ndarray]]:
        """(videos in ascending order, {metric: [V, S, T]})."""
        rows = self.conn.execute("SELECT video, metric, num_samples, num_frames, scores FROM video_scores "
                                 "WHERE run_id = ? ORDER BY video", (run_id,)).fetchall()
        videos = sorted({r[0] for r in rows})
        per_metric: dict[str, list[np.ndarray]] = {}
        for _, metric, s, t, blob in rows:
            per_metric.setdefault(metric, []).append(_unblob(blob, s, t))
        return videos, {m: np.stack(arrays) for m, arrays in per_metric.items()}

    def features(self, run_id: str, kind: str) -> tuple[list[int], np.ndarray]:
        """(videos in ascending order, [V, K, D])."""
        rows = self.conn.execute("SELECT video, rows, dim, features FROM video_features "
                                 "WHERE run_id = ? AND kind = ? ORDER BY video", (run_id, kind)).fetchall()
        if not rows:
            return [], np.zeros((0, 0, 0), np.float32)
        return [r[0] for r in rows], np.stack([_unblob(r[3], r[1], r[2]) for r in rows])

    def flags(self, run_id: str) -> dict[str, list[int]]:
        """{flag: videos in ascending order} of a run."""
        out: dict[str, list[int]] = {}
        for video, flag in self.conn.execute("SELECT video, flag FROM video_flags WHERE run_id = ? "
                                             "ORDER BY flag, video", (run_id,)):
            out.setdefault(flag, []).append(video)
        return out

    def strips(self, run_id: str) -> dict[int, dict[str, Any]]:
        """{video: {"rows", "context", "frames" uint8 [R, T, C, H, W]}} kept for the report (may be empty)."""
        out = {}
        for video, context, rows, shape, blob in self.conn.execute(
                "SELECT video, context, rows, shape, frames FROM video_strips WHERE run_id = ? ORDER BY video",
                (run_id,)):
            frames = np.frombuffer(zlib.decompress(blob), np.uint8).reshape(json.loads(shape))
            out[video] = {"rows": json.loads(rows), "context": context, "frames": frames}
        return out

    # -- cache of real-clip features ------------------------------------------------------------
    def cached_features(self, key: str, videos: list[int]) -> dict[int, np.ndarray]:
        found: dict[int, np.ndarray] = {}
        for video, dim, blob in self.conn.execute("SELECT video, dim, features FROM feature_cache WHERE key = ?",
                                                  (key,)):
            found[video] = _unblob(blob, dim)
        return {v: found[v] for v in videos if v in found}

    def feature_cache_keys(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT key FROM feature_cache ORDER BY key")]

    def cache_features(self, key: str, videos: list[int], features: np.ndarray) -> None:
        with self._transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO feature_cache (key, video, dim, features) VALUES (?,?,?,?)",
                [(key, v, features.shape[-1], _blob(features[i])) for i, v in enumerate(videos)])


def _record(row: tuple) -> RunRecord:
    """A `runs` row as a RunRecord; a `running` run whose holder is gone reads 'abandoned'."""
    status, host, pid, started, heartbeat = row[3], row[9], row[10], row[11], row[12]
    holder = Holder(host, pid, started or "") if host is not None else None
    if status == "running" and is_abandoned(holder, heartbeat):
        status = "abandoned"
    return RunRecord(id=row[0], suite=row[1], model=row[2], status=status, created=row[4], finished=row[5],
                     manifest=json.loads(row[6]),
                     stored_summary=json.loads(row[7]) if row[7] else None, error=row[8],
                     holder=holder, heartbeat=heartbeat)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (including KeyboardInterrupt)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
