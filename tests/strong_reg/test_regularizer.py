"""StrongRegularizer: penalty math against autograd, gating, proximal zeros, exclusion, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from quartet.strong_reg.gates import AlwaysGate, CoherentGate, DelayedGate, NeverGate
from quartet.strong_reg.models import MLP, VGG
from quartet.strong_reg.regularizer import RegularizedOptimizer, StrongRegularizer, default_exclude
from quartet.strong_reg.stats import compute_grad_stats

torch.set_num_threads(1)


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.norm = nn.LayerNorm(12)
        self.fc = nn.Linear(12, 4)
        self.bn = nn.BatchNorm1d(4)

    def forward(self, x):
        h = self.conv(x).flatten(1)
        return self.bn(self.fc(self.norm(h)))


def _loss_grads(model: nn.Module, seed: int = 0) -> None:
    torch.manual_seed(seed)
    x = torch.randn(8, 1, 4, 4)
    model.zero_grad(set_to_none=True)
    model(x).pow(2).mean().backward()


def test_default_exclusion_skips_biases_and_norm_parameters():
    reg = StrongRegularizer(Tiny(), kind="l1", lam=1e-3, gate=AlwaysGate())
    assert reg.names == ["conv.weight", "fc.weight"]
    assert default_exclude("x.bias", torch.zeros(3, 3))
    assert default_exclude("norm.weight", torch.zeros(3))


def test_exclude_patterns_replace_the_default_rule():
    reg = StrongRegularizer(Tiny(), lam=1e-3, gate=AlwaysGate(), exclude=["conv.*", "bn.*"])
    assert reg.names == ["norm.weight", "norm.bias", "fc.weight", "fc.bias"]
    reg = StrongRegularizer(Tiny(), lam=1e-3, gate=AlwaysGate(), exclude=lambda n, p: not n.startswith("fc"))
    assert reg.names == ["fc.weight", "fc.bias"]


@pytest.mark.parametrize("kind", ["l1", "l2"])
@pytest.mark.parametrize("lam", [1e-3, 0.3])
def test_penalty_gradient_equals_autograd_of_explicit_penalty(kind, lam):
    model = Tiny()
    reg = StrongRegularizer(model, kind=kind, lam=lam, gate=AlwaysGate())
    _loss_grads(model)
    loss_grads = [p.grad.clone() for p in reg.params]
    # autograd of loss + lam * Omega, with the same loss gradients
    for p in reg.params:
        p.grad = None
    reg.penalty().backward()
    expected = [g + p.grad for g, p in zip(loss_grads, reg.params)]
    for p, g in zip(reg.params, loss_grads):
        p.grad = g.clone()
    on = reg.step()
    assert on.all()
    for p, e in zip(reg.params, expected):
        torch.testing.assert_close(p.grad, e, rtol=1e-6, atol=1e-7)


def test_l2_penalty_value_uses_half_convention():
    w = nn.Parameter(torch.tensor([[3.0, -4.0]]))
    reg = StrongRegularizer([("w", w)], kind="l2", lam=0.1, gate=AlwaysGate())
    assert reg.penalty().item() == pytest.approx(0.1 * 0.5 * 25.0)
    reg1 = StrongRegularizer([("w", w)], kind="l1", lam=0.1, gate=AlwaysGate())
    assert reg1.penalty().item() == pytest.approx(0.1 * 7.0)


def test_per_tensor_lam_mapping_applies_each_strength():
    model = MLP((1, 2, 2), 3, depth=1, width=5)
    names = ["net.1.weight", "net.3.weight"]
    reg = StrongRegularizer(model, kind="l2", lam={names[0]: 0.0, names[1]: 2.0}, gate=AlwaysGate())
    for p in reg.params:
        p.grad = torch.zeros_like(p)
    reg.step()
    assert torch.count_nonzero(reg.params[0].grad) == 0
    torch.testing.assert_close(reg.params[1].grad, 2.0 * reg.params[1].detach())
    with pytest.raises(ValueError, match="lam"):
        StrongRegularizer(model, lam={names[0]: 1.0})


def test_never_gate_leaves_loss_gradient_untouched_but_records_stats():
    model = Tiny()
    reg = StrongRegularizer(model, kind="l1", lam=10.0, gate=NeverGate(), track_stats=True)
    _loss_grads(model)
    before = [p.grad.clone() for p in reg.params]
    on = reg.step()
    assert not on.any()
    for p, b in zip(reg.params, before):
        assert torch.equal(p.grad, b)
    assert reg.last_stats is not None and reg.last_stats.pen_l1.sum() > 0


def test_unused_parameter_still_gets_the_penalty():
    w = nn.Parameter(torch.ones(2, 2))
    reg = StrongRegularizer([("w", w)], kind="l1", lam=0.5, gate=AlwaysGate())
    reg.step()
    torch.testing.assert_close(w.grad, torch.full((2, 2), 0.5))


def test_proximal_l1_gives_exact_zeros_and_soft_thresholds():
    w = nn.Parameter(torch.tensor([[0.05, -0.02, 0.3, -0.5, 0.0]]))
    reg = StrongRegularizer([("w", w)], kind="l1", lam=1.0, gate=AlwaysGate(), proximal=True)
    opt = torch.optim.SGD([w], lr=0.1)
    opt.zero_grad()
    w.grad = torch.zeros_like(w)
    reg.step()
    assert torch.count_nonzero(w.grad) == 0  # proximal mode never touches the gradient
    opt.step()
    reg.after_step(0.1)
    expected = torch.tensor([[0.0, 0.0, 0.2, -0.4, 0.0]])
    torch.testing.assert_close(w.detach(), expected)
    assert (w.detach()[0, :2] == 0).all() and (w.detach()[0, 4] == 0)  # exact zeros, not tiny values


def test_proximal_respects_gate():
    w = nn.Parameter(torch.full((1, 3), 0.01))
    reg = StrongRegularizer([("w", w)], kind="l1", lam=1.0, gate=DelayedGate(gamma=1, unit="step"),
                            proximal=True)
    w.grad = torch.zeros_like(w)
    reg.step()
    reg.after_step(0.1)
    assert torch.equal(w.detach(), torch.full((1, 3), 0.01))  # step 0: gate off
    reg.step()
    reg.after_step(0.1)
    assert torch.count_nonzero(w) == 0


def test_proximal_l2_shrinks_multiplicatively():
    w = nn.Parameter(torch.tensor([[1.0, -2.0]]))
    reg = StrongRegularizer([("w", w)], kind="l2", lam=0.5, gate=AlwaysGate(), proximal=True)
    w.grad = torch.zeros_like(w)
    reg.step()
    reg.after_step(0.2)
    torch.testing.assert_close(w.detach(), torch.tensor([[1.0, -2.0]]) / 1.1)


def test_regularized_optimizer_matches_manual_loop():
    torch.manual_seed(0)
    m1 = MLP((1, 4, 4), 3, depth=2, width=8)
    m2 = MLP((1, 4, 4), 3, depth=2, width=8)
    m2.load_state_dict(m1.state_dict())
    x, y = torch.randn(16, 1, 4, 4), torch.randint(0, 3, (16,))
    r1 = StrongRegularizer(m1, "l1", 1e-2, AlwaysGate())
    o1 = torch.optim.SGD(m1.parameters(), lr=0.1, momentum=0.9)
    o2 = RegularizedOptimizer(torch.optim.SGD(m2.parameters(), lr=0.1, momentum=0.9),
                              StrongRegularizer(m2, "l1", 1e-2, AlwaysGate()))
    for _ in range(3):
        o1.zero_grad()
        nn.functional.cross_entropy(m1(x), y).backward()
        r1.step()
        o1.step()
        o2.zero_grad()
        nn.functional.cross_entropy(m2(x), y).backward()
        o2.step()
    for a, b in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="weight_decay"):
        RegularizedOptimizer(torch.optim.SGD(m2.parameters(), lr=0.1, weight_decay=1e-4), r1)


def test_state_dict_round_trip_resumes_gate_and_counters():
    model = VGG.small((1, 8, 8), 10)
    reg = StrongRegularizer(model, "l1", 1e-3, CoherentGate(0.5))
    for _ in range(3):
        torch.manual_seed(1)
        model.zero_grad()
        model(torch.randn(4, 1, 8, 8)).sum().backward()
        reg.set_epoch(1)
        reg.step()
    state = reg.state_dict()
    fresh = StrongRegularizer(model, "l1", 1e-3, CoherentGate(0.5))
    fresh.load_state_dict(state)
    assert fresh.step_count == 3 and fresh.epoch == 1
    assert len(fresh.gate.history) == 3
    assert np.array_equal(fresh.last_on, reg.last_on)
    with pytest.raises(ValueError, match="state_dict"):
        StrongRegularizer(model, "l1", 1e-3, AlwaysGate()).load_state_dict(state)


@pytest.mark.parametrize("kwargs, name", [
    ({"kind": "l3"}, "kind"),
    ({"lam": -1.0}, "lam"),
    ({"lam": float("nan")}, "lam"),
    ({"gate": "coherent"}, "gate"),
    ({"exclude": "bias"}, "exclude"),
    ({"exclude": lambda n, p: True}, "params"),
])
def test_bad_arguments_are_rejected(kwargs, name):
    with pytest.raises(ValueError, match=name):
        StrongRegularizer(Tiny(), **{"kind": "l1", "lam": 1e-3, **kwargs})


def test_bad_params_type_rejected():
    with pytest.raises(ValueError, match="params"):
        StrongRegularizer([1, 2, 3], lam=1e-3)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.floats(1e-4, 1.0), st.sampled_from(["l1", "l2"]), st.integers(0, 1000))
def test_stats_match_direct_computation_and_sum_to_global(n, lam, kind, seed):
    gen = torch.Generator().manual_seed(seed)
    ws = [torch.randn(3, 5, generator=gen) for _ in range(n)]
    gs = [torch.randn(3, 5, generator=gen) for _ in range(n)]
    dirs = [w.sign() if kind == "l1" else w for w in ws]
    s = compute_grad_stats(gs, dirs, [lam] * n, step=0, epoch=0)
    g_l = torch.cat([g.reshape(-1) for g in gs]).double()
    g_r = lam * torch.cat([d.reshape(-1) for d in dirs]).double()
    tot = s.total()
    assert tot.loss_l1[0] == pytest.approx(g_l.abs().sum().item(), rel=1e-5)
    assert tot.pen_sq[0] == pytest.approx((g_r ** 2).sum().item(), rel=1e-5)
    assert tot.dot[0] == pytest.approx((g_l * g_r).sum().item(), rel=1e-4, abs=1e-6)
    cos = torch.nn.functional.cosine_similarity(g_l, g_l + g_r, dim=0).item()
    assert tot.coherence()[0] == pytest.approx(cos, rel=1e-4, abs=1e-6)
    assert s.loss_sq.sum() == pytest.approx(tot.loss_sq[0])


def test_stats_without_one_norms_keep_the_rest():
    gen = torch.Generator().manual_seed(0)
    ws = [torch.randn(4, 6, generator=gen) for _ in range(3)]
    gs = [torch.randn(4, 6, generator=gen) for _ in range(3)]
    dirs = [w.sign() for w in ws]
    full = compute_grad_stats(gs, dirs, [0.1] * 3, step=0, epoch=0, sign_directions=True)
    lean = compute_grad_stats(gs, dirs, [0.1] * 3, step=0, epoch=0, sign_directions=True, with_l1=False)
    for field in ("loss_sq", "pen_sq", "dot"):
        np.testing.assert_allclose(getattr(lean, field), getattr(full, field))
    assert np.isnan(lean.loss_l1).all() and np.isnan(lean.pen_l1).all()
    np.testing.assert_allclose(full.pen_l1, 0.1 * 24)   # sum|sign(w)| = number of nonzero weights
    np.testing.assert_allclose(lean.coherence(), full.coherence())


def test_coherent_gate_skips_one_norms_unless_tracking():
    model = Tiny()
    _loss_grads(model)
    reg = StrongRegularizer(model, kind="l1", lam=1e-3, gate=CoherentGate(), track_stats=False)
    reg.step()
    assert np.isnan(reg.last_stats.loss_l1).all() and np.isfinite(reg.last_stats.loss_sq).all()
    reg = StrongRegularizer(model, kind="l1", lam=1e-3, gate=CoherentGate(), track_stats=True)
    reg.step()
    assert np.isfinite(reg.last_stats.loss_l1).all()


def test_checkpoint_resume_reproduces_an_uninterrupted_run():
    from quartet.strong_reg.gates import NormHistoryGate

    torch.manual_seed(0)
    xs, ys = torch.randn(10, 16, 1, 4, 4), torch.randint(0, 3, (10, 16))

    def make(state=None):
        torch.manual_seed(1)
        model = MLP((1, 4, 4), 3, depth=2, width=16)
        opt = RegularizedOptimizer(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                                   StrongRegularizer(model, "l1", 3e-3, NormHistoryGate(warmup=2, beta=0.5)))
        if state is not None:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["opt"])
        return model, opt

    def steps(model, opt, idx):
        for i in idx:
            opt.zero_grad()
            nn.functional.cross_entropy(model(xs[i]), ys[i]).backward()
            opt.step()

    straight, opt = make()
    steps(straight, opt, range(10))
    first, opt1 = make()
    steps(first, opt1, range(5))
    state = {"model": first.state_dict(), "opt": opt1.state_dict()}
    resumed, opt2 = make(state)
    steps(resumed, opt2, range(5, 10))
    for a, b in zip(straight.parameters(), resumed.parameters()):
        torch.testing.assert_close(a, b)
    assert opt.regularizer.gate.history.decisions.tolist() == opt2.regularizer.gate.history.decisions.tolist()
    assert opt.regularizer.gate.history.steps.tolist() == opt2.regularizer.gate.history.steps.tolist()
