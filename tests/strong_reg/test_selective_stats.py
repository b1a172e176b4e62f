"""The per-step fast path: statistics computed only for the fields a gate reads, and ``check_every``.

Both must leave every decision exactly as the full computation makes it (``check_every=1``) or hold it
between checks as documented.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from quartet.strong_reg.gates import Gate, make_gate
from quartet.strong_reg.models import MLP
from quartet.strong_reg.regularizer import StrongRegularizer
from quartet.strong_reg.stats import STAT_FIELDS, GradStats, compute_grad_stats

torch.set_num_threads(1)

FIELD_SUBSETS = [frozenset(c) for r in range(len(STAT_FIELDS) + 1) for c in itertools.combinations(STAT_FIELDS, r)]


def _reference_stats(grads, dirs, lams) -> dict[str, np.ndarray]:
    """The five sums computed one tensor at a time in float64, straight from their definitions."""
    out = {f: [] for f in STAT_FIELDS}
    for g, d, lam in zip(grads, dirs, lams):
        g, r = g.double().reshape(-1), lam * d.double().reshape(-1)
        out["loss_l1"].append(g.abs().sum().item())
        out["loss_sq"].append((g * g).sum().item())
        out["pen_l1"].append(r.abs().sum().item())
        out["pen_sq"].append((r * r).sum().item())
        out["dot"].append((g * r).sum().item())
    return {f: np.asarray(v) for f, v in out.items()}


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(FIELD_SUBSETS), st.sampled_from(["l1", "l2"]), st.integers(1, 4), st.integers(0, 10_000))
def test_any_field_subset_equals_the_full_computation_and_the_float64_reference(fields, kind, n, seed):
    gen = torch.Generator().manual_seed(seed)
    ws = [torch.randn(3 + i, 5, generator=gen) for i in range(n)]
    ws[0][0, :2] = 0.0  # exact zeros: sign(0) = 0 must not count as a nonzero weight
    gs = [torch.randn(3 + i, 5, generator=gen) for i in range(n)]
    dirs = [w.sign() if kind == "l1" else w for w in ws]
    lams = [0.01 * (i + 1) for i in range(n)]
    full = compute_grad_stats(gs, dirs, lams, step=3, epoch=1, sign_directions=kind == "l1")
    lean = compute_grad_stats(gs, dirs, lams, step=3, epoch=1, sign_directions=kind == "l1", fields=fields)
    ref = _reference_stats(gs, dirs, lams)
    np.testing.assert_array_equal(lean.numel, full.numel)
    assert (lean.step, lean.epoch) == (3, 1)
    for f in STAT_FIELDS:
        if f in fields:
            np.testing.assert_array_equal(getattr(lean, f), getattr(full, f))  # bit-identical
        else:
            assert np.isnan(getattr(lean, f)).all()
        np.testing.assert_allclose(getattr(full, f), ref[f], rtol=1e-5, atol=1e-6)


def test_fields_without_penalty_need_no_directions_and_unknown_fields_are_rejected():
    gs = [torch.randn(4, 4), torch.randn(2, 3)]
    s = compute_grad_stats(gs, None, [0.1, 0.1], step=0, epoch=0, fields=["loss_l1"])
    np.testing.assert_allclose(s.loss_l1, [g.abs().sum().item() for g in gs], rtol=1e-6)
    with pytest.raises(ValueError, match="directions"):
        compute_grad_stats(gs, None, [0.1, 0.1], step=0, epoch=0, fields=["dot"])
    with pytest.raises(ValueError, match="fields"):
        compute_grad_stats(gs, gs, [0.1, 0.1], step=0, epoch=0, fields=["cosine"])


def test_gates_declare_what_they_read():
    assert make_gate("coherent").reads == {"loss_sq", "pen_sq", "dot"}
    assert make_gate("dominance").reads == {"loss_l1", "pen_l1"}
    assert make_gate("norm-history").reads == {"loss_l1"}
    for name in ("always", "never", "delayed"):
        assert make_gate(name).reads == frozenset() and not make_gate(name).needs_stats
    with pytest.raises(TypeError, match="unknown statistics"):
        type("BadGate", (Gate,), {"reads": frozenset({"cosine"})})


def _train(gate_name: str, scope: str, kind: str, *, track_stats: bool, check_every: int = 1, steps: int = 40):
    torch.manual_seed(0)
    model = MLP((1, 4, 4), 3, depth=3, width=16)
    gate = make_gate(gate_name, scope=scope, gamma=5, unit="step", warmup=3, rho=0.9, kappa=1.0, tau=0.5)
    reg = StrongRegularizer(model, kind, 3e-3, gate, track_stats=track_stats, check_every=check_every)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    gen = torch.Generator().manual_seed(1)
    decisions = []
    for _ in range(steps):
        x, y = torch.randn(16, 1, 4, 4, generator=gen), torch.randint(0, 3, (16,), generator=gen)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        decisions.append(reg.step().copy())
        opt.step()
    return np.asarray(decisions), [p.detach().clone() for p in model.parameters()], reg


@pytest.mark.parametrize("gate_name", ["coherent", "dominance", "norm-history", "delayed", "always"])
@pytest.mark.parametrize("scope,kind", [("global", "l1"), ("per-layer", "l2")])
def test_reading_only_what_the_gate_needs_changes_no_decision(gate_name, scope, kind):
    lean_on, lean_w, lean_reg = _train(gate_name, scope, kind, track_stats=False)
    full_on, full_w, _ = _train(gate_name, scope, kind, track_stats=True)
    np.testing.assert_array_equal(lean_on, full_on)
    for a, b in zip(lean_w, full_w):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    unread = set(STAT_FIELDS) - set(lean_reg.gate.reads)
    assert all(np.isnan(getattr(lean_reg.last_stats, f)).all() for f in unread)
    if kind == "l1" and gate_name in ("coherent", "dominance"):
        assert 0 < lean_on.mean() < 1  # at this strength the run exercises both decisions


class _AlternatingGate(Gate):
    """Reads one statistic and flips its decision at every call, so a held decision is easy to spot."""

    name = "alternating"
    reads = frozenset({"loss_sq"})

    def __init__(self) -> None:
        super().__init__("global")
        self.calls: list[int] = []

    def _rule(self, stats: GradStats) -> np.ndarray:
        self.calls.append(stats.step)
        return np.asarray([len(self.calls) % 2 == 1])


def test_check_every_consults_the_gate_every_kth_step_and_holds_the_decision_in_between():
    torch.manual_seed(0)
    model = MLP((1, 4, 4), 3, depth=2, width=8)
    gate = _AlternatingGate()
    reg = StrongRegularizer(model, "l1", 1e-2, gate, check_every=3)
    x = torch.randn(8, 1, 4, 4)
    ons, applied = [], []
    for _ in range(10):
        model.zero_grad(set_to_none=True)
        model(x).pow(2).mean().backward()
        loss_grads = [p.grad.clone() for p in reg.params]
        ons.append(bool(reg.step().all()))
        applied.append(not all(torch.equal(a, p.grad) for a, p in zip(loss_grads, reg.params)))
    assert gate.calls == [0, 3, 6, 9]
    assert ons == [True] * 3 + [False] * 3 + [True] * 3 + [False]
    assert applied == ons  # a held "on" still adds the penalty
    assert gate.history.steps.tolist() == list(range(10)) and gate.on_fraction() == pytest.approx(0.6)
    assert reg.last_stats.step == 9  # held steps compute no statistics when not tracking


def test_check_every_one_is_the_exact_default_and_stat_free_gates_ignore_it():
    exact, _, _ = _train("coherent", "global", "l1", track_stats=False)
    same, _, _ = _train("coherent", "global", "l1", track_stats=False, check_every=1)
    np.testing.assert_array_equal(exact, same)
    held, _, reg = _train("coherent", "global", "l1", track_stats=False, check_every=4)
    np.testing.assert_array_equal(held[::4], exact[::4])  # identical until the first held step diverges them
    assert (held.reshape(10, 4, -1) == held[::4][:, None]).all()
    delayed, _, _ = _train("delayed", "global", "l1", track_stats=False, check_every=7)
    assert delayed[:5].sum() == 0 and delayed[5:].all()  # DSR switches at step gamma=5, not at a check


def test_check_every_is_validated_and_checkpointed():
    with pytest.raises(ValueError, match="check_every"):
        StrongRegularizer(MLP((1, 4, 4), 3, depth=1, width=4), "l1", 1e-3, check_every=0)
    _, _, reg = _train("coherent", "global", "l1", track_stats=False, check_every=4, steps=6)
    state = reg.state_dict()
    assert state["check_every"] == 4
    fresh = StrongRegularizer(MLP((1, 4, 4), 3, depth=3, width=16), "l1", 3e-3, make_gate("coherent"))
    fresh.load_state_dict(state)
    assert fresh.check_every == 4 and fresh.step_count == 6
