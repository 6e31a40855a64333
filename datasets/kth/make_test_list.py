"""Draw the fixed KTH test list (`test_list_v1.txt`) from the annotations in 00sequences.txt.

    python datasets/kth/make_test_list.py PATH/00sequences.txt [--out datasets/kth/test_list_v1.txt]

The draw uses no random generator, only SHA-256 of text, so it gives the same bytes on any machine
and Python or NumPy version:

* Candidates: for every test video (persons 17-25), one window of CLIP_FRAMES frames starting at the
  first frame of each annotated range (the subject is performing the action in the context frames),
  kept if it ends at or before the video's last annotated frame (a lower bound on its length). A
  window may run past the end of its own range: many jogging/running ranges are shorter than 40
  frames, and then the clip's last frames show the scene after the subject has left it.
* Each video's candidates are ranked by `sha256("kth test_list_v1 <video> <start>")`; an action's
  queue orders its candidates by (rank within their video, hash), so every video of the action comes
  once before any comes twice.
* Clips are taken round-robin over the actions in alphabetical order, one from each queue per
  turn, until CLIP_COUNT clips: every action is represented, counts differ by at most one, and any
  prefix of the list (a run with fewer clips) stays balanced. The list keeps this draw order.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from vbench.data.kth import ACTIONS, action_of, read_sequences, split_of

VERSION = "v1"
CLIP_FRAMES = 40          # suite kth: 10 context + 30 predicted
CLIP_COUNT = 256


def _hash(video: str, start: int) -> str:
    return hashlib.sha256(f"kth test_list_{VERSION} {video} {start}".encode()).hexdigest()


def candidates(sequences: dict[str, list[tuple[int, int]]]) -> dict[str, list[tuple[str, int]]]:
    """Per action, the (video, 0-based start) windows of the test videos in draw order."""
    queues: dict[str, list[tuple[int, str, str, int]]] = {action: [] for action in ACTIONS}
    for video, ranges in sequences.items():
        if split_of(video) != "test":
            continue
        last_annotated = max(last for _, last in ranges)
        starts = sorted({first - 1 for first, _ in ranges if first - 1 + CLIP_FRAMES <= last_annotated},
                        key=lambda start: _hash(video, start))
        for rank, start in enumerate(starts):
            queues[action_of(video)].append((rank, _hash(video, start), video, start))
    return {action: [(video, start) for _, _, video, start in sorted(queue)] for action, queue in queues.items()}


def draw(sequences: dict[str, list[tuple[int, int]]]) -> list[tuple[str, int]]:
    queues = candidates(sequences)
    if sum(map(len, queues.values())) < CLIP_COUNT or not all(queues.values()):
        raise SystemExit(f"not enough candidate windows: {({a: len(q) for a, q in queues.items()})}")
    clips: list[tuple[str, int]] = []
    turn = 0
    while len(clips) < CLIP_COUNT:
        queue = queues[ACTIONS[turn % len(ACTIONS)]]
        index = turn // len(ACTIONS)
        if index < len(queue):
            clips.append(queue[index])
        turn += 1
    return clips


def render(clips: list[tuple[str, int]], sequences_path: Path) -> str:
    digest = hashlib.sha256(sequences_path.read_bytes()).hexdigest()
    per_action = ", ".join(f"{a} {sum(action_of(v) == a for v, _ in clips)}" for a in ACTIONS)
    header = [
        f"# KTH test clips, suite kth, list {VERSION}: {len(clips)} clips of {CLIP_FRAMES} frames "
        "(10 context + 30 predicted), persons 17-25.",
        "# Columns: video id, 0-based first frame of the clip in the whole video (prepared split 'test').",
        f"# Made by datasets/kth/make_test_list.py from {sequences_path.name} (sha256 {digest}).",
        "# Each clip starts at the first frame of an annotated range and ends at or before the video's",
        "# last annotated frame; drawn by SHA-256 ranks, round-robin over the actions (see the script",
        "# and datasets/kth/README.md). Do not edit: a changed list is a new version.",
        f"# Per action: {per_action}.",
    ]
    return "\n".join(header + [f"{video} {start}" for video, start in clips]) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sequences", type=Path, help="the KTH 00sequences.txt")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name(f"test_list_{VERSION}.txt"))
    args = parser.parse_args(argv)
    text = render(draw(read_sequences(args.sequences)), args.sequences)
    args.out.write_bytes(text.encode())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
