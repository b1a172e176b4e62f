import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quartet.cli import main
from quartet.common.sweep import config_key, grid, run_sweep, sweep_status
from quartet.common.sweep_demo import crash, square


def _env():
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_config_key_ignores_key_order_and_grid_is_a_product():
    assert config_key({"a": 1, "b": 2}) == config_key({"b": 2, "a": 1})
    assert config_key({"a": 1}) != config_key({"a": 2})
    assert grid(k=[1, 2], seed=[0, 1, 2]) == [{"k": k, "seed": s} for k in (1, 2) for s in (0, 1, 2)]


def test_failed_cell_is_recorded_and_the_sweep_goes_on(tmp_path):
    configs = [{"x": 1}, {"x": 2, "fail": True}, {"x": 3}]
    cells = run_sweep(square, configs, tmp_path)
    assert [c.status for c in cells] == ["ok", "failed", "ok"]
    assert cells[0].result["y"] == 1 and cells[2].result["y"] == 9
    assert "failed on purpose" in cells[1].error
    assert sweep_status(tmp_path) == {"ok": 2, "failed": 1}


def test_rerun_computes_only_missing_and_failed_cells(tmp_path):
    log = tmp_path / "calls"
    configs = [{"x": x, "log_dir": str(log)} for x in range(4)]
    run_sweep(square, configs[:2], tmp_path / "store")
    assert len(list(log.iterdir())) == 2
    cells = run_sweep(square, configs, tmp_path / "store")
    assert [c.result["y"] for c in cells] == [0, 1, 4, 9]
    assert sorted(p.name.split("-")[0] for p in log.iterdir()) == ["x0", "x1", "x2", "x3"]


def test_local_processes(tmp_path):
    cells = run_sweep(square, [{"x": x} for x in range(4)], tmp_path, workers=2)
    assert [c.result["y"] for c in cells] == [0, 1, 4, 9]
    assert all(c.result["pid"] != os.getpid() for c in cells)


def test_a_crashing_worker_fails_only_its_own_cell(tmp_path):
    configs = [{"x": 0}, {"x": 1, "crash": True}, {"x": 2}]
    cells = run_sweep(crash, configs, tmp_path, workers=2)
    assert [c.status for c in cells] == ["ok", "failed", "ok"]
    assert "died" in cells[1].error


def test_sweep_killed_with_sigkill_resumes_only_missing_cells(tmp_path):
    store, log = tmp_path / "store", tmp_path / "calls"
    grid_file = tmp_path / "grid.json"
    grid_file.write_text(json.dumps({"x": list(range(8)), "sleep": [0.4], "log_dir": [str(log)]}))
    cmd = [sys.executable, "-m", "quartet.cli", "sweep", "run", "quartet.common.sweep_demo:square",
           "--grid", str(grid_file), "--store", str(store)]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(store.glob("*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.stem for p in store.glob("*.json")}
    assert 3 <= len(finished) < 8, "the kill must land mid-way"
    calls_before = {p.name for p in log.iterdir()}

    subprocess.run(cmd, env=_env(), check=True, capture_output=True, timeout=120)
    new_calls = {p.name for p in log.iterdir()} - calls_before
    all_keys = {config_key({"x": x, "sleep": 0.4, "log_dir": str(log)}): x for x in range(8)}
    missing_x = sorted(x for key, x in all_keys.items() if key not in finished)
    assert sorted(int(name.split("-")[0][1:]) for name in new_calls) == missing_x
    assert sweep_status(store) == {"ok": 8, "failed": 0}


def test_sweep_on_a_dask_local_cluster_through_the_cli_option(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    grid_file = tmp_path / "grid.json"
    grid_file.write_text(json.dumps([{"x": 2}, {"x": 3}, {"x": 4, "fail": True}]))
    os.environ["PYTHONPATH"] = _env()["PYTHONPATH"]  # the workers import the cell function
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        rc = main(["sweep", "run", "quartet.common.sweep_demo:square", "--grid", str(grid_file),
                   "--store", str(tmp_path / "store"), "--cluster", cluster.scheduler_address])
    assert rc == 1  # one cell failed on purpose: reported, the others stored
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out == {"cells": 3, "ok": 2, "failed": 1, "store": str(tmp_path / "store")}
    cells = run_sweep(square, [{"x": 2}, {"x": 3}], tmp_path / "store")  # already stored: not recomputed
    assert [c.result["y"] for c in cells] == [4, 9]
    assert all(c.result["pid"] != os.getpid() for c in cells)  # computed on the cluster's worker


def test_bad_cluster_address_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="invalid cluster='localhost'"):
        run_sweep(square, [{"x": 1}], tmp_path, cluster="localhost")
