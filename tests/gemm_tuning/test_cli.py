"""`quartet gemm ...`: tune writes the run folder and summary; the database commands; errors."""

import json

import pytest
from typer.testing import CliRunner

from quartet.cli import main
from quartet.gemm_tuning.cli import app

SUMMARY_KEYS = {"best_time_s", "best_gflops", "best_config", "trials", "fraction_explored", "failed_trials"}


def test_tune_analytic_writes_run_folder(tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["tune", "--m", "64", "--n", "64", "--k", "64", "--tuner", "na2c", "--trials", "12",
                                   "--backend", "analytic", "--db", str(tmp_path / "db.sqlite"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["trials"] == 12 and summary["fraction_explored"] == pytest.approx(12 / 5488)
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 12 and json.loads(lines[-1])["best_time_s"] == summary["best_time_s"]
    assert (out / "figures" / "best_time_vs_trials.png").exists()
    assert json.loads((out / "config.json").read_text())["config"]["tuner"] == "na2c"


def test_tune_tvm_then_replay_and_database_commands(tmp_path):
    pytest.importorskip("tvm", reason="apache-tvm is not installed")
    db = tmp_path / "db.sqlite"
    common = ["--m", "64", "--n", "64", "--k", "64", "--trials", "4", "--db", str(db)]
    res = CliRunner().invoke(app, ["tune", "--tuner", "gbfs-nni", *common, "--out", str(tmp_path / "tvm")])
    assert res.exit_code == 0, res.output
    live = json.loads((tmp_path / "tvm" / "summary.json").read_text())
    assert live["failed_trials"] == 0 and live["best_gflops"] > 0 and live["best_verified_against_numpy"]
    trials = [json.loads(line) for line in (tmp_path / "tvm" / "metrics.jsonl").read_text().splitlines()]
    assert trials[0]["config"] == [[6, 0, 0], [6, 0], [6, 0, 0]]  # G-BFS with NNI's start: the naive kernel
    assert live["best_time_s"] < trials[0]["time_s"]  # and improves on it
    res = CliRunner().invoke(app, ["tune", "--tuner", "gbfs-nni", *common, "--backend", "replay",
                                   "--out", str(tmp_path / "replay")])
    assert res.exit_code == 0, res.output
    replayed = json.loads((tmp_path / "replay" / "summary.json").read_text())
    assert replayed["best_time_s"] == live["best_time_s"] and replayed["best_config"] == live["best_config"]
    res = CliRunner().invoke(app, ["db-export", str(tmp_path / "rows.jsonl"), "--db", str(db)])
    assert res.exit_code == 0 and len((tmp_path / "rows.jsonl").read_text().splitlines()) == 4
    res = CliRunner().invoke(app, ["db-import", str(tmp_path / "rows.jsonl"), "--db", str(tmp_path / "copy.sqlite")])
    assert res.exit_code == 0 and "imported 4" in res.output


@pytest.mark.parametrize("args, message", [
    (["tune", "--tuner", "annealing", "--backend", "analytic"], "tuner='annealing'"),
    (["tune", "--m", "96", "--backend", "analytic"], "M=96"),
    (["tune", "--levels", "3,2", "--backend", "analytic"], "levels='3,2'"),
    (["experiment", "sweep"], "name='sweep'"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    code = main(["gemm", *args, "--out", str(tmp_path / "x")] if args[0] == "tune" else ["gemm", *args])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
