import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from quartet.common.runs import RunDir, to_jsonable, write_json_atomic


@dataclass
class Cfg:
    n: int
    lr: float
    path: Path


def test_run_dir_layout_and_flushed_metrics(tmp_path):
    run = RunDir.create("demo", "trial", Cfg(3, 1e-3, Path("/x")), out=tmp_path / "r")
    config = json.loads((run.path / "config.json").read_text())
    assert config == {"subpackage": "demo", "name": "trial", "config": {"n": 3, "lr": 1e-3, "path": "/x"}}
    run.log(step=1, loss=np.float32(0.5))
    # Readable before the run ends: the line is flushed, not buffered.
    lines = (run.path / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"step": 1, "loss": 0.5}
    run.log(step=2, loss=float("nan"))
    assert [m["step"] for m in run.read_metrics()] == [1, 2]
    assert run.read_metrics()[1]["loss"] == "nan"
    run.write_summary({"solved": True, "acc": np.array([1.0, 0.5])})
    assert json.loads((run.path / "summary.json").read_text()) == {"solved": True, "acc": [1.0, 0.5]}
    assert run.figures.is_dir()


def test_default_location_is_runs_sub_name_time(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = RunDir.create("bilevel", "solve", {"a": 1})
    assert run.path.parent == Path("runs") / "bilevel"
    assert run.path.name.startswith("solve-") and run.path.name.endswith("Z")


def test_save_figure(tmp_path):
    from quartet.common.plotting import new_figure

    run = RunDir.create("demo", "fig", {}, out=tmp_path)
    fig, ax = new_figure()
    ax.plot([0, 1], [1, 0])
    path = run.save_figure(fig, "line")
    assert path == tmp_path / "figures" / "line.png" and path.read_bytes()[:4] == b"\x89PNG"


def test_out_that_is_a_file_is_rejected(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="invalid out="):
        RunDir.create("demo", "x", {}, out=f)


def test_to_jsonable_and_atomic_write(tmp_path):
    assert to_jsonable({"a": (1, np.int64(2)), 3: float("inf")}) == {"a": [1, 2], "3": "inf"}
    write_json_atomic(tmp_path / "x.json", {"k": 1})
    assert json.loads((tmp_path / "x.json").read_text()) == {"k": 1}
    assert not list(tmp_path.glob(".*tmp"))
