"""README is a contract: its two set-up commands are what CI runs, and its model example runs."""

import re

from conftest import REPO, write_suite
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
    assert record.summary["metrics"]["ssim"]["best"]["mean"] > record.summary["metrics"]["ssim"]["mean_of_samples"]["mean"]
