"""The sorted-per-layer LLM figure (the paper's Figs. 6/7 presentation) on a hand-made result."""

import numpy as np
import pytest

from quartet.cot_parity import plots
from quartet.cot_parity.experiments import LLMConfig
from quartet.cot_parity.llm_attention import STATISTICS, SparsityResult


def _result(n_layers=5, n_heads=3):
    rng = np.random.default_rng(0)
    cot = {s: rng.random((n_layers, n_heads)).tolist() for s in STATISTICS}
    nocot = {s: rng.random((n_layers, n_heads)).tolist() for s in STATISTICS}
    return SparsityResult(model="hand-made", n_problems=1, row_set="answer", cot=cot, nocot=nocot,
                          frac_heads_cot_lower={s: 0.5 for s in STATISTICS}, mean_rows={"cot": 9.0, "nocot": 3.0})


@pytest.mark.parametrize("n_layers,panels,expected", [(30, 4, [0, 10, 19, 29]), (28, 4, [0, 9, 18, 27]),
                                                      (3, 4, [0, 1, 2]), (5, 1, [4]), (5, 2, [0, 4])])
def test_sorted_panel_layers_span_first_to_last(n_layers, panels, expected):
    assert plots.sorted_panel_layers(n_layers, panels) == expected


def test_sorted_heads_plot_draws_each_condition_sorted_separately():
    res = _result()
    fig = plots.plot_llm_sorted_heads(res, layers=[0, 4])
    axes = np.array(fig.axes).reshape(2, 2)  # rows: min, min_matched; columns: layers 1 and 5
    for row, stat in enumerate(("min", "min_matched")):
        for col, layer in enumerate((0, 4)):
            cot_line, nocot_line = axes[row, col].get_lines()[:2]
            assert list(cot_line.get_ydata()) == sorted(res.cot[stat][layer])
            assert list(nocot_line.get_ydata()) == sorted(res.nocot[stat][layer])
            assert list(cot_line.get_xdata()) == [1, 2, 3]  # ranks, not head ids
    assert len(plots.plot_llm_sorted_heads(res).axes) == 2 * 4  # default: four layers, first to last


def test_sorted_heads_plot_rejects_bad_layers_and_stats():
    res = _result()
    with pytest.raises(ValueError, match=r"layers=\[5\]"):
        plots.plot_llm_sorted_heads(res, layers=[5])
    with pytest.raises(ValueError, match="stats=\\('median',\\)"):
        plots.plot_llm_sorted_heads(res, stats=("median",))
    with pytest.raises(ValueError, match="panels=0"):
        plots.sorted_panel_layers(5, 0)


def test_sorted_figure_is_optional():
    res = _result()
    assert [stem for stem, _, _ in plots.figures_for("llm-sparsity", res)] == ["llm_sparsity"]
    stems = [stem for stem, _, _ in plots.figures_for("llm-sparsity", res, LLMConfig(sorted_heads=True))]
    assert stems == ["llm_sparsity", "llm_sparsity_sorted"]
