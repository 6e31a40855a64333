"""README is a contract: its two set-up commands are what CI runs, and its model example runs."""

import dataclasses
import re

import pytest

from conftest import REPO, free_port, write_suite
from vbench.cli import main
from vbench.store import Store

README = (REPO / "README.md").read_text()


def _bash_blocks():
    return re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def test_ci_runs_exactly_the_two_readme_commands():
    install, tests = _bash_blocks()[:2]
    ci = (REPO / ".ci" / "run").read_text()
    assert install.strip() in ci and tests.strip() in ci
    assert "pip install" in install and "vbench run --suite smmnist-mini" in install
    assert "pytest" in tests


def test_plug_in_example_runs_as_documented(tmp_path, monkeypatch):
    code = re.search(r"Save this as `my_model.py`:\n\n```python\n(.*?)```", README, flags=re.S).group(1)
    (tmp_path / "my_model.py").write_text(code)
    command = re.search(r"^vbench run --suite smmnist-mini --model my_model.py:MyModel.*$", README, flags=re.M).group(0)
    args = command.split()[1:]
    monkeypatch.chdir(tmp_path)
    # The documented command on a cut-down copy of the suite (per-frame metrics, 6 videos) to stay fast.
    suite = write_suite(tmp_path)
    args[args.index("smmnist-mini")] = str(suite)
    assert main(args + ["--store", "r.sqlite", "--no-progress"]) == 0
    with Store(tmp_path / "r.sqlite") as store:
        (record,) = store.runs()
    assert record.model == "my_model" and record.manifest["model"]["args"] == {"max_blur": 0.8}
    assert record.summary.metrics["ssim"].best.mean > record.summary.metrics["ssim"].mean_of_samples.mean


def _python_block(after: str) -> str:
    return re.search(re.escape(after) + r"\n\n```python\n(.*?)```", README, flags=re.S).group(1)


def test_python_api_example_runs_as_written_and_equals_vbench_run(tmp_path, monkeypatch):
    (tmp_path / "my_model.py").write_text(_python_block("Save this as `my_model.py`:"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    example: dict = {}
    exec(_python_block("In the folder of `my_model.py` above:"), example)
    result = example["result"]
    assert list(example["curves"].columns) == ["metric", "frame", "best", "mean"]
    assert list(example["videos"].columns) == ["metric", "video", "best", "mean"]
    # The same model, arguments and overrides through the command line: the same numbers.
    args = ["run", "--suite", "smmnist-mini", "--model", "my_model.py:MyModel", "--model-arg", "max_blur=0.8",
            "--limit", "4", "--samples", "2", "--store", "r.sqlite", "--no-progress"]
    assert main(args) == 0
    with Store(tmp_path / "r.sqlite") as store:
        (record,) = store.runs()
    untimed = [dataclasses.replace(s, wall_time_s=None) for s in (record.summary, result.summary)]
    assert untimed[0] == untimed[1]
    mine, theirs = result.manifest, record.manifest
    assert {k: v for k, v in mine.items() if k not in ("model", "environment")} == \
        {k: v for k, v in theirs.items() if k not in ("model", "environment")}
    assert mine["model"]["source_sha256"] == theirs["model"]["source_sha256"]
    assert mine["model"]["spec"] == "my_model:MyModel" and mine["model"]["name"] == "my_model"


@pytest.mark.slow
def test_validation_examples_run_as_written_one_process_and_two(tmp_path):
    import json
    import os
    import subprocess
    import sys
    (tmp_path / "validate.py").write_text(_python_block("save this as `validate.py`:"))
    command = re.search(r"run `(torchrun --nproc_per_node 2 validate_ddp.py)`", README).group(1).split()
    (tmp_path / command[-1]).write_text(_python_block(f"`{' '.join(command)}`:"))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    alone = subprocess.run([sys.executable, "validate.py"], capture_output=True, text=True, env=env, cwd=tmp_path,
                           timeout=300)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--master_addr", "127.0.0.1", "--master_port",
                str(free_port()), *command[1:]]
    two = subprocess.run(torchrun, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert alone.returncode == 0 and two.returncode == 0, alone.stderr[-2000:] + two.stderr[-2000:]
    one_scores, two_scores = (json.loads(p.stdout.strip().splitlines()[-1].replace("'", '"')) for p in (alone, two))
    assert set(one_scores) == {"fvd", "ssim"} and one_scores["fvd"] > 0
    for name in one_scores:
        assert two_scores[name] == pytest.approx(one_scores[name], rel=1e-9)
