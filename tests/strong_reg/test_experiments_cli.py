"""Experiments on tiny configs (resumable sweep cells, tables, figures) and the CLI end to end."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from quartet.strong_reg import plots
from quartet.strong_reg.experiments import (CompressionConfig, DiagnosticsConfig, ToleranceConfig, paper_table,
                                            preset, run_experiment)

torch.set_num_threads(1)

TINY = dict(data="digits", model="mlp", depth=1, epochs=2, seeds=(0,))


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    store = tmp_path_factory.mktemp("cells")
    tol = run_experiment("tolerance", ToleranceConfig(**TINY, grids={"l1": (1e-4, 1e-1)},
                                                      gates=("always", "coherent")), store)
    comp = run_experiment("compression", CompressionConfig(**TINY, lam_safe=1e-4, lam_strong=1e-1,
                                                           gates=("coherent",)), store)
    diag = run_experiment("diagnostics", DiagnosticsConfig(**TINY, runs=(("none", 0.0, "always"),
                                                                          ("l1", 1e-1, "always"))), store)
    return store, tol, comp, diag


def test_tolerance_finds_the_collapse_and_caches_cells(tiny_results):
    store, tol, comp, diag = tiny_results
    assert [(r["reg"], r["lam"], r["gate"]) for r in tol.rows] == [
        ("none", 0.0, "-"), ("l1", 1e-4, "always"), ("l1", 1e-1, "always"), ("l1", 1e-4, "coherent"),
        ("l1", 1e-1, "coherent")]
    assert tol.extra["lam_star"]["l1/always"] == 1e-1
    assert tol.rows[2]["collapsed_fraction"] == 1.0 and tol.rows[2]["compression"] is None
    # 5 tolerance runs; compression and diagnostics ask only for runs the tolerance sweep already stored
    assert len(list(store.glob("*.json"))) == 5


def test_rerun_is_served_from_the_store(tiny_results):
    store, tol, _, _ = tiny_results
    before = {p.name: p.stat().st_mtime_ns for p in store.glob("*.json")}
    again = run_experiment("tolerance", ToleranceConfig(**TINY, grids={"l1": (1e-4, 1e-1)},
                                                        gates=("always", "coherent")), store)
    assert again.rows == tol.rows
    assert {p.name: p.stat().st_mtime_ns for p in store.glob("*.json")} == before


def test_compression_rows_and_paper_table(tiny_results):
    _, tol, comp, diag = tiny_results
    assert [r["label"] for r in comp.rows] == ["unregularized", "L1 0.0001, always on", "L1 0.1, always on",
                                               "L1 0.1, GCSR-dir"]
    rows = paper_table(tol, comp)
    assert all(len(r) == 4 for r in rows)
    assert rows[0][3] == "reproduced"   # always-on collapses somewhere on the grid


def test_figures_render(tiny_results, tmp_path):
    _, tol, comp, diag = tiny_results
    for name, res in (("tolerance", tol), ("compression", comp), ("diagnostics", diag)):
        path = plots.save(plots.FIGURES[name](res), tmp_path / f"{name}.png")
        assert path.stat().st_size > 5_000


def test_presets_are_valid_and_seed_shifts(tmp_path):
    for name in ("tolerance", "compression", "diagnostics"):
        for quick in (True, False):
            cfg = preset(name, quick, seed=5)
            assert min(cfg.seeds) == 5
    assert preset("tolerance", True).data == "digits"
    with pytest.raises(ValueError, match="experiment"):
        preset("speed")
    with pytest.raises(ValueError, match="lam_strong"):
        run_experiment("compression", replace(CompressionConfig(**TINY), lam_safe=1e-2, lam_strong=1e-3), tmp_path)


def test_cli_train_writes_summary(tmp_path):
    from quartet.cli import main

    out = tmp_path / "run"
    code = main(["strongreg", "train", "--data", "digits", "--model", "mlp", "--depth", "1", "--reg", "l1",
                 "--lam", "1e-3", "--gate", "coherent", "--epochs", "1", "--seed", "0", "--out", str(out)])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in ("test_accuracy", "sparsity", "compression", "gate_on_fraction", "collapsed"):
        assert key in summary
    assert isinstance(summary["collapsed"], bool) and 0.0 <= summary["gate_on_fraction"] <= 1.0
    assert (out / "figures" / "training.png").exists()
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1
    assert json.loads((out / "config.json").read_text())["config"]["gate"] == "coherent"


@pytest.mark.parametrize("args, word", [
    (["--reg", "l3"], "reg"), (["--gate", "sometimes"], "gate"), (["--lam", "-1"], "lam"),
    (["--model", "resnet"], "model"), (["--theta", "x"], "theta"),
])
def test_cli_rejects_bad_arguments_with_one_line(args, word, tmp_path, capsys):
    from quartet.cli import main

    code = main(["strongreg", "train", "--epochs", "1", "--out", str(tmp_path / "r"), *args])
    err = capsys.readouterr().err
    assert code == 2 and word in err and "Traceback" not in err
    assert not (tmp_path / "r" / "summary.json").exists()


def test_cli_experiment_rejects_unknown_name(capsys):
    from quartet.cli import main

    assert main(["strongreg", "experiment", "speed"]) == 2
    assert "experiment" in capsys.readouterr().err


def test_preset_overrides_and_cli_set_parsing():
    from quartet.strong_reg.cli import _overrides

    cfg = preset("compression", True, **_overrides(["tau=0.7", "seeds=[1,2]", "data=fashion-mnist"]))
    assert cfg.tau == 0.7 and cfg.seeds == (1, 2) and cfg.data == "fashion-mnist"
    with pytest.raises(ValueError, match="set"):
        preset("compression", True, tauu=0.7)
    with pytest.raises(ValueError, match="set"):
        _overrides(["tau"])


def test_unused_gate_parameters_do_not_split_cached_runs():
    """A run's config keeps only its own gate's parameters: an always-on run under a tau=0.7 preset is the same
    sweep cell as under tau=0.5, while the coherent run keeps its tau."""
    from quartet.strong_reg.experiments import _train_config

    base = preset("compression", quick=True).base()
    for gate in ("always", "delayed"):
        a = _train_config({**base, "tau": 0.7}, reg="l1", lam=1e-3, gate=gate)
        b = _train_config({**base, "tau": 0.5}, reg="l1", lam=1e-3, gate=gate)
        assert a == b
    assert _train_config({**base, "tau": 0.7}, reg="l1", lam=1e-3, gate="coherent").tau == 0.7
    assert _train_config({**base, "gamma": 5}, reg="l1", lam=1e-3, gate="delayed").gamma == 5
    assert _train_config({**base, "gamma": 5}, reg="none", lam=0.0, gate="always").gamma == 2


def test_integer_and_float_numbers_are_one_cached_run():
    """``lam=0`` and ``lam=0.0`` (or ``lr=1`` and ``1.0``) describe the same run and must hash to one sweep cell."""
    from dataclasses import asdict

    from quartet.common.sweep import config_key
    from quartet.strong_reg.experiments import _train_config

    base = preset("compression", quick=True).base()
    as_int = _train_config({**base, "lr": 1}, reg="none", lam=0, gate="always", thetas=(1, 1e-4))
    as_float = _train_config({**base, "lr": 1.0}, reg="none", lam=0.0, gate="always", thetas=(1.0, 1e-4))
    assert config_key(asdict(as_int)) == config_key(asdict(as_float))
    assert isinstance(as_int.lam, float) and isinstance(as_int.lr, float) and isinstance(as_int.thetas[0], float)
