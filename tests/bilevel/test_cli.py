"""The CLI writes a run folder with summary.json; bad input is one line and exit code 2."""

import json

from typer.testing import CliRunner

from quartet.bilevel.cli import app


def test_solve_writes_summary(tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["solve", "--problem", "min-norm", "--data", "synthetic:30x60", "--method", "fc-bio",
                                   "--eps-f", "1e-4", "--eps-g", "1e-4", "--seed", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    for key in ("f_gap", "g_gap", "f", "g", "grad_calls", "time_s", "status"):
        assert key in summary
    assert summary["status"] == 0 and summary["f_gap"] <= 1e-4 and summary["g_gap"] <= 1e-4
    assert (out / "config.json").exists() and (out / "figures" / "convergence.png").exists()
    assert len((out / "metrics.jsonl").read_text().splitlines()) >= 2


def test_solve_baseline_with_budget(tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["solve", "--data", "synthetic:20x40", "--method", "pb-apg", "--max-iter", "50",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "summary.json").read_text())["grad_calls"] == 100


def test_bad_method_is_a_value_error(tmp_path):
    res = CliRunner().invoke(app, ["solve", "--method", "newton", "--out", str(tmp_path / "x")])
    assert res.exit_code != 0
    assert isinstance(res.exception, ValueError) and "method" in str(res.exception)


def test_experiment_hardness(tmp_path):
    out = tmp_path / "hard"
    res = CliRunner().invoke(app, ["experiment", "hardness", "--quick", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["smooth:fc-bio"] is True and summary["lipschitz:fc-bio-lip"] is True
    assert (out / "figures" / "queries.png").exists()


def test_experiment_comparison_writes_summary(tmp_path, monkeypatch):
    """A comparison experiment through the CLI, on a tiny config (the presets take minutes)."""
    from quartet.bilevel import experiments

    tiny = experiments.ComparisonConfig("min-norm", "synthetic:20x40", 1e-4, ("fc-bio", "r-apm", "mng"),
                                        max_time=0.1, max_history=20)
    monkeypatch.setattr(experiments, "preset", lambda name, quick, seed=0: tiny)
    out = tmp_path / "mn"
    res = CliRunner().invoke(app, ["experiment", "min-norm", "--quick", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == {"fc-bio", "r-apm", "mng"} and summary["fc-bio"]["status"] == 0
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3
