"""Experiment plumbing on tiny instances: comparison runs, weak-optimality timing, figures, presets."""

import pytest

from quartet.bilevel import experiments as E
from quartet.bilevel import plots


def test_first_weak_optimal_finds_first_row():
    h = {"f": [1.0, 0.6, 0.5, 0.49], "g": [1.0, 1e-3, 1e-7, 0.0], "grad_calls": [0, 10, 20, 30],
         "time_s": [0.0, 0.1, 0.2, 0.3]}
    assert E.first_weak_optimal(h, 0.5, 0.0, 1e-6, 1e-6) == {"grad_calls": 20, "time_s": 0.2}
    assert E.first_weak_optimal(h, None, 0.0, 1e-6, 1e-6)["grad_calls"] is None


def test_comparison_runs_every_method_and_plots():
    cfg = E.ComparisonConfig("min-norm", "synthetic:20x40", 1e-4, ("fc-bio", "pb-apg", "bisec-bio", "a-irg"),
                             max_time=0.2, max_history=50)
    res = E.run_comparison(cfg)
    assert set(res.runs) == set(cfg.methods)
    fc = res.runs["fc-bio"]
    assert fc["status"] == 0 and fc["f_gap"] <= 1e-4 and fc["g_gap"] <= 1e-4
    assert fc["calls_to_eps"] is not None and fc["calls_to_eps"] <= fc["grad_calls"]
    for r in res.runs.values():
        assert len(r["history"]["f"]) >= 2
    fig = plots.comparison_figure(res)
    assert len(fig.axes) == 4


def test_rates_small():
    res = E.run_rates(E.RatesConfig(data="synthetic:20x40", eps_smooth=(1e-2, 1e-4), eps_lipschitz=(1e-1,)))
    calls = [r["grad_calls"] for r in res["smooth"]]
    assert calls[1] >= calls[0] and all(r["status"] == 0 for r in res["smooth"])
    assert res["slope_smooth"] <= 0


def test_rates_slope_leaves_out_uncertified_runs():
    rows = [{"eps": 1e-1, "grad_calls": 10, "status": 0}, {"eps": 1e-2, "grad_calls": 1000, "status": 0},
            {"eps": 1e-3, "grad_calls": 1200, "status": 1}]
    slope, excluded = E._certified_slope(rows)
    assert slope == pytest.approx(-2.0) and excluded == [1e-3]
    assert E._certified_slope(rows[2:]) == (None, [1e-3])


def test_presets_and_bad_names():
    assert E.preset("min-norm", True).eps == 1e-6
    assert {"r-apm", "mng"} <= set(E.preset("min-norm", True).methods)
    assert "mng" not in E.preset("logistic", True).methods  # needs an isotropic quadratic f
    assert E.preset("logistic", False).data.startswith("rcv1-like")
    with pytest.raises(ValueError, match="experiment"):
        E.preset("nope", True)
    with pytest.raises(ValueError, match="problem"):
        E.make_problem("ridge", "synthetic:5x5")
