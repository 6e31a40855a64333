"""pytest plugin: one test keeps a model's scores where its reference file says they are.

Installed with vbench (entry point `pytest11`), so a model author writes::

    def test_my_model_still_scores(vbench_check):
        vbench_check(suite="smmnist-mini", model="mypkg.model:MyModel",
                     reference="tests/reference/smmnist-mini.json", checkpoint="ckpt.pt",
                     model_args={"hidden": 128})

The fixture scores the model now (in a store under pytest's tmp dir) and fails with the table of
moved scores. Its arguments are those of `vbench check`: `model_args` the model's constructor
arguments (`--model-arg KEY=VALUE`; they name the reference entry, e.g. `MyModel[hidden=128]`),
`checkpoint`, `device`, `data_root`, `limit` and `samples` (`--limit`, `--samples`: must match the
reference's), `tolerances` (`--tolerance`: metric or score -> tolerance, this check only). Create
or refresh the reference deliberately with
`vbench check --suite ... --model ... --reference FILE --update --reason TEXT`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest


@pytest.fixture
def vbench_check(tmp_path: Path) -> Callable[..., str]:
    def check(suite: str, model: str, reference: str | Path, checkpoint: str | None = None,
              model_args: dict[str, Any] | None = None, device: str | None = None,
              data_root: str | None = None, tolerances: dict[str, float] | None = None,
              limit: int | None = None, samples: int | None = None) -> str:
        from vbench.check import check_run
        from vbench.runner import RunRequest, run
        from vbench.store import Store
        store_path = tmp_path / "vbench-check.db"
        run_id = run(RunRequest(suite=suite, model=model, checkpoint=checkpoint, model_args=model_args or {},
                                limit=limit, samples=samples, device=device, store=store_path,
                                data_root=data_root, progress=False))
        with Store(store_path) as store:
            record = store.run(run_id)
        passed, table = check_run(record, reference, tolerances)
        if not passed:
            pytest.fail(f"scores moved beyond their tolerance:\n{table}", pytrace=False)
        return table
    return check
