"""Each gate's decisions on constructed gradient statistics."""

from __future__ import annotations

import gc
import json
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quartet.strong_reg.gates import (GATES, AlwaysGate, CoherentGate, DecisionHistory, DelayedGate, DominanceGate,
                                      NeverGate, NormHistoryGate, make_gate)
from quartet.strong_reg.stats import GradStats


def stats(*, loss_l1=None, loss_sq, pen_sq, dot, pen_l1=None, step=0, epoch=0, numel=None) -> GradStats:
    a = lambda v: np.atleast_1d(np.asarray(v, dtype=np.float64))  # noqa: E731
    loss_sq, pen_sq, dot = a(loss_sq), a(pen_sq), a(dot)
    n = loss_sq.shape[0]
    return GradStats(step, epoch, a(numel if numel is not None else [10.0] * n),
                     a(loss_l1 if loss_l1 is not None else np.sqrt(loss_sq)), loss_sq,
                     a(pen_l1 if pen_l1 is not None else np.sqrt(pen_sq)), pen_sq, dot)


def test_coherent_boundary_orthogonal_penalty_sqrt3_times_loss():
    # g_R orthogonal to g_L with ||g_R|| = sqrt(3) ||g_L||: cos(g_L, g_L + g_R) = 1/2 exactly
    s = stats(loss_sq=1.0, pen_sq=3.0, dot=0.0)
    assert s.coherence()[0] == pytest.approx(0.5)
    assert CoherentGate(tau=0.5).decide(s).all()
    assert not CoherentGate(tau=0.5).decide(stats(loss_sq=1.0, pen_sq=3.1, dot=0.0)).any()
    assert CoherentGate(tau=0.5).decide(stats(loss_sq=1.0, pen_sq=2.9, dot=0.0)).all()


def test_coherent_is_direction_aware():
    # same magnitudes, penalty aligned with vs opposed to the loss gradient
    aligned = stats(loss_sq=1.0, pen_sq=4.0, dot=2.0)     # g_R = 2 g_L
    opposed = stats(loss_sq=1.0, pen_sq=0.25, dot=-0.5)   # g_R = -g_L/2: shorter, but reverses nothing yet
    reversing = stats(loss_sq=1.0, pen_sq=4.0, dot=-2.0)  # g_R = -2 g_L: the update points uphill
    gate = CoherentGate(tau=0.5)
    assert gate.decide(aligned).all()
    assert gate.decide(opposed).all()
    assert not gate.decide(reversing).any()


def test_coherent_off_when_loss_gradient_vanishes_and_on_when_update_is_zero():
    assert not CoherentGate().decide(stats(loss_sq=0.0, pen_sq=1.0, dot=0.0)).any()
    # g_R = -g_L exactly: combined update is 0, harmless, counted as coherent... but still needs g_L != 0
    assert CoherentGate().decide(stats(loss_sq=1.0, pen_sq=1.0, dot=-1.0)).all()


def test_global_scope_sums_layers_per_layer_scope_decides_each():
    # layer 0: small loss gradient, dominated; layer 1: large loss gradient, coherent
    s = stats(loss_sq=[0.01, 100.0], pen_sq=[1.0, 1.0], dot=[0.0, 0.0])
    assert CoherentGate(scope="per-layer").decide(s).tolist() == [False, True]
    assert CoherentGate(scope="global").decide(s).tolist() == [True, True]
    s_bad = stats(loss_sq=[0.01, 0.01], pen_sq=[1.0, 1.0], dot=[0.0, 0.0])
    assert CoherentGate(scope="global").decide(s_bad).tolist() == [False, False]

    # the caller owns the returned decisions: changing them leaves the gate's record alone
    gate = CoherentGate(scope="per-layer")
    on = gate.decide(s)
    on[:] = True
    assert gate.history.last().tolist() == [False, True]


def test_a_rule_must_answer_once_or_once_per_tensor():
    class TwoAnswers(AlwaysGate):
        def _rule(self, stats):
            return np.array([True, False])

    with pytest.raises(ValueError, match="decisions"):
        TwoAnswers(scope="per-layer").decide(stats(loss_sq=[1.0, 1.0, 1.0], pen_sq=[1.0] * 3, dot=[0.0] * 3))


def test_delayed_gate_in_epochs_and_steps():
    g = DelayedGate(gamma=2, unit="epoch")
    assert [bool(g.decide(stats(loss_sq=1, pen_sq=1, dot=0, epoch=e, step=100)).all()) for e in range(4)] == \
        [False, False, True, True]
    g = DelayedGate(gamma=3, unit="step")
    assert [bool(g.decide(stats(loss_sq=1, pen_sq=1, dot=0, step=t)).all()) for t in range(5)] == \
        [False, False, False, True, True]
    assert not DelayedGate.needs_stats


def test_always_and_never():
    s = stats(loss_sq=[0.0, 1.0], pen_sq=[9.0, 9.0], dot=[0.0, 0.0])
    assert AlwaysGate().decide(s).tolist() == [True, True]
    assert NeverGate().decide(s).tolist() == [False, False]


def test_dominance_gate_inequality():
    g = DominanceGate(kappa=2.0)
    assert g.decide(stats(loss_l1=2.0, pen_l1=1.0, loss_sq=1, pen_sq=1, dot=0)).all()      # 2 >= 2*1
    assert not g.decide(stats(loss_l1=1.99, pen_l1=1.0, loss_sq=1, pen_sq=1, dot=0)).any()


def test_norm_history_warmup_ema_and_running_max():
    g = NormHistoryGate(rho=0.5, beta=0.5, warmup=2)
    seq = [4.0, 4.0, 4.0, 1.0, 0.0, 0.0, 8.0]
    # ema: 4, 4, 4, 2.5, 1.25, 0.625, 4.3125; max: 4, 4, 4, 4, 4, 4, 4.3125
    expect = [False, False, True, True, False, False, True]
    got = [bool(g.decide(stats(loss_l1=m, loss_sq=1, pen_sq=1, dot=0, step=t)).all()) for t, m in enumerate(seq)]
    assert got == expect
    state = g.state_dict()
    h = NormHistoryGate(rho=0.5, beta=0.5, warmup=2)
    h.load_state_dict(state)
    nxt = stats(loss_l1=0.0, loss_sq=1, pen_sq=1, dot=0, step=7)
    assert h.decide(nxt).tolist() == g.decide(nxt).tolist()
    g.reset()
    assert len(g.history) == 0 and not g.decide(stats(loss_l1=9.0, loss_sq=1, pen_sq=1, dot=0)).any()


def test_history_records_every_decision_and_on_fraction():
    g = CoherentGate(tau=0.5)
    for t, pen in enumerate([1.0, 100.0, 1.0, 1.0]):
        g.decide(stats(loss_sq=1.0, pen_sq=pen, dot=0.0, step=t, epoch=t // 2))
    assert g.history.decisions[:, 0].tolist() == [True, False, True, True]
    assert g.history.steps.tolist() == [0, 1, 2, 3] and g.history.epochs.tolist() == [0, 0, 1, 1]
    assert g.on_fraction() == pytest.approx(0.75)
    assert g.on_fraction(epoch=0) == pytest.approx(0.5)
    assert math.isnan(CoherentGate().on_fraction())


def test_history_queries_growth_and_checkpoint_formats():
    h = DecisionHistory()
    assert len(h) == 0 and h.last() is None and math.isnan(h.on_fraction())
    rng = np.random.default_rng(0)
    rows = [(t, t // 50, rng.random(3) < 0.3) for t in range(200)]  # crosses several buffer doublings
    for t, e, on in rows:
        h.append(t, e, on)
    rows[0][2][:] = True  # the history keeps its own copy, not the caller's array
    assert len(h) == 200 and h.steps.tolist() == list(range(200))
    on = np.stack([r[2] for r in rows[1:]])
    assert np.array_equal(h.decisions[1:], on)
    assert h.last().tolist() == rows[-1][2].tolist() and h[5][:2] == (5, 0)
    assert h.layer_series(2)[1:].tolist() == on[:, 2].tolist()
    assert h.on_fraction(epoch=3) == pytest.approx(np.mean([r[2] for r in rows[150:]]))
    assert [r[0] for r in h] == list(range(200))
    with pytest.raises(ValueError, match="on"):
        h.append(200, 4, np.ones(4, dtype=bool))  # the tensor count is fixed by the first row
    state = json.loads(json.dumps(h.state()))  # JSON-able
    assert DecisionHistory.from_state(state) == h
    old = [(s, e, o.tolist()) for s, e, o in h]  # checkpoints written before the compact history
    assert DecisionHistory.from_state(old) == h


def test_history_memory_is_compact_and_creates_no_gc_tracked_objects():
    g = CoherentGate(tau=0.5)
    s = stats(loss_sq=[1.0] * 7, pen_sq=[1.0] * 7, dot=[0.0] * 7)
    for _ in range(100):  # let the buffers and any caches settle
        g.decide(s)
    gc.collect()
    before = len(gc.get_objects())
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(10_000):
            g.decide(s)  # the same statistics each step: only the history's growth is measured
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    gc.collect()
    assert len(gc.get_objects()) - before < 50  # nothing per step is left for the collector to walk
    assert len(g.history) == 10_100
    # 16 bytes of step/epoch + 7 bool decisions per step, capacity at most doubled: under 0.5 MB, against
    # ~2.2 MB retained by the former list of (step, epoch, ndarray) tuples
    assert g.history.nbytes <= 2 * 10_100 * (16 + 7)
    assert grown <= 2 * 10_100 * (16 + 7) + 10_000


def test_make_gate_ignores_other_gates_parameters():
    g = make_gate("delayed", tau=0.9, gamma=5, unit="step", scope="global")
    assert isinstance(g, DelayedGate) and g.gamma == 5 and g.unit == "step"
    assert set(GATES) == {"always", "never", "delayed", "coherent", "norm-history", "dominance"}


@pytest.mark.parametrize("factory, name", [
    (lambda: CoherentGate(tau=1.5), "tau"),
    (lambda: CoherentGate(scope="layer"), "scope"),
    (lambda: DelayedGate(gamma=-1), "gamma"),
    (lambda: DelayedGate(unit="minute"), "unit"),
    (lambda: NormHistoryGate(beta=1.0), "beta"),
    (lambda: NormHistoryGate(warmup=2.5), "warmup"),
    (lambda: DominanceGate(kappa=-1), "kappa"),
    (lambda: make_gate("sometimes"), "gate"),
])
def test_bad_gate_arguments(factory, name):
    with pytest.raises(ValueError, match=name):
        factory()


@settings(max_examples=50, deadline=None)
@given(st.floats(1e-3, 1e3), st.floats(0.0, 1e3), st.floats(-1.0, 1.0), st.floats(-0.99, 0.99))
def test_coherence_matches_vector_cosine(loss_norm, pen_norm, angle_cos, tau):
    # build 2-D vectors with the requested norms and angle, compare against direct cosine
    gl = np.array([loss_norm, 0.0])
    sin = math.sqrt(max(0.0, 1 - angle_cos ** 2))
    gr = pen_norm * np.array([angle_cos, sin])
    s = stats(loss_sq=gl @ gl, pen_sq=gr @ gr, dot=gl @ gr)
    tot = gl + gr
    if np.linalg.norm(tot) < 1e-9:
        return
    direct = gl @ tot / (np.linalg.norm(gl) * np.linalg.norm(tot))
    assert s.coherence()[0] == pytest.approx(direct, abs=1e-6)
    assert bool(CoherentGate(tau=tau).decide(s)[0]) == bool(s.coherence()[0] >= tau)
