"""Experiments on the analytic back end (fast): tables, regret, summaries, figures, resumable sweeps."""

import numpy as np
import pytest

from quartet.gemm_tuning import plots
from quartet.gemm_tuning.experiments import (
    CompareConfig, ExhaustiveConfig, claims_table, compare_summary, make_tuner, run_compare, run_exhaustive,
)
from quartet.gemm_tuning.space import TilingSpace


def test_exhaustive_regret_against_the_true_optimum():
    cfg = ExhaustiveConfig(backend="analytic", tuners=["grid", "gbfs", "random"], seeds=[0, 1],
                           budget_fractions=[0.05, 1.0])
    result = run_exhaustive(cfg)
    space = cfg.space()
    assert result.space_size == space.size == 343
    rows = {(r["tuner"], r["budget"]): r for r in result.regret_table()}
    assert rows[("grid", 343)]["median_regret"] == 0.0  # measuring everything finds the optimum
    assert rows[("random", 343)]["within_5pct"] == 1.0
    assert all(r["median_regret"] >= 0 for r in rows.values())
    assert rows[("gbfs", 17)]["fraction_of_space"] == pytest.approx(17 / 343)
    first = result.first_budget_within(0.05)
    for tuner in cfg.tuners:  # the first budget is where the median regret curve crosses 5%
        median = np.median(result.regrets(tuner), axis=0)
        assert first[tuner] is not None and median[first[tuner] - 1] <= 0.05
        assert all(median[: first[tuner] - 1] > 0.05)
    assert first["grid"] > first["gbfs"]
    summary = result.summary()
    check = {r["tuner"]: r for r in summary["target_at_1pct"]}["gbfs"]
    assert check["budget"] == 3 and check["rival_median_regret"] == {}  # no xgb/rnn in this run
    plots.regret_vs_budget(result)


def test_compare_tables_savings_and_resume(tmp_path):
    cfg = CompareConfig(sizes=[(64, 64, 64)], backend="analytic", db=str(tmp_path / "db.sqlite"),
                        tuners=["gbfs", "random", "xgb", "rnn"], seeds=[0, 1], budget=20, final_rounds=1,
                        final_repeat=2)
    result = run_compare(cfg, tmp_path / "cells")
    assert len(result.cells) == 8 and all(c["status"] == "ok" and c["trials"] == 20 for c in result.cells)
    table = {r["tuner"]: r for r in result.table()}
    assert table["xgb"]["saving_vs_xgb"] == 0.0 and table["rnn"]["saving_vs_rnn"] == 0.0
    t = table["gbfs"]["median_best_time_s"]
    assert table["gbfs"]["saving_vs_xgb"] == pytest.approx(1 - t / table["xgb"]["median_best_time_s"])
    assert table["gbfs"]["fraction_explored"] == pytest.approx(20 / 5488)
    summary = compare_summary(result, None)
    claims = claims_table(summary)
    assert [row[1] for row in claims[:2]] == ["24% (G-BFS/N-A2C)", "40%"]
    for fig in (plots.best_time_vs_trials(result), plots.best_time_vs_search_time(result),
                plots.gflops_vs_numpy(result)):
        assert fig.axes
    for cell in result.cells:  # search cost grows with every trial
        assert all(b >= a for a, b in zip(cell["search_time"], cell["search_time"][1:]))
    again = run_compare(cfg, tmp_path / "cells")  # finished cells come back from the store
    assert [c["best_time_s"] for c in again.cells] == [c["best_time_s"] for c in result.cells]


def test_config_validation_and_tuner_names():
    with pytest.raises(ValueError, match="tuners"):
        CompareConfig(tuners=["gbfs", "sa"]).validate()
    with pytest.raises(ValueError, match="M=100"):
        CompareConfig(sizes=[(100, 64, 64)]).validate()
    with pytest.raises(ValueError, match="tuner='x'"):
        make_tuner("x", TilingSpace(64, 64, 64), 0, 10)
    assert make_tuner("xgb", TilingSpace(64, 64, 64), 0, 100).plan_size == 16
    assert make_tuner("xgb", TilingSpace(64, 64, 64), 0, 300).plan_size == 64
    # full preset: 256^3 with levels (3,1,3), the space recorded exhaustively (the (3,2,3) one has 18,225)
    assert ExhaustiveConfig.preset(quick=False).space().size == 2025
    assert ExhaustiveConfig.preset(quick=False).budgets() == [5, 10, 15, 20, 40, 101]  # 20 = 1% of |S|
