"""Every baseline runs through solve(), decreases the lower-level gap and approaches the reference."""

import numpy as np
import pytest

from quartet.bilevel import METHODS, min_norm_least_squares, solve
from quartet.bilevel.data import load_min_norm_data

BASELINES = [m for m in METHODS if not m.startswith("fc-bio")]

# (max g-gap, max |f-gap|) after 3000 iterations on a well-conditioned 20x40 instance (ε = 1e-4)
EXPECTED = {"a-irg": (2e-2, 0.2), "bi-sg": (1e-3, 0.05), "cg-bio": (1e-3, 0.05), "agm-bio": (5e-2, 0.3),
            "pb-apg": (1e-6, 1e-3), "bisec-bio": (1e-4, 0.05), "big-sam": (1e-3, 0.05), "dbgd": (5e-2, 0.3)}


@pytest.fixture(scope="module")
def problem():
    d = load_min_norm_data("synthetic:20x40", seed=1)
    return min_norm_least_squares(d.A, d.b, seed=1)


@pytest.mark.parametrize("method", BASELINES)
def test_baseline_converges_towards_reference(problem, method):
    r = solve(problem, method, eps_f=1e-4, eps_g=1e-4, max_iter=3000, record_every=50)
    g_tol, f_tol = EXPECTED[method]
    g0 = problem.g(problem.x0) - problem.g_star
    assert r.g_gap <= g_tol < g0
    assert abs(r.f_gap) <= f_tol
    assert r.grad_calls > 0 and r.nit <= 3000 + 15000
    h = r.history
    assert len(h["f"]) == len(h["time_s"]) >= 2
    assert all(np.diff(h["grad_calls"]) >= 0)


def test_baselines_honour_budgets(problem):
    r = solve(problem, "a-irg", max_grad_calls=100)
    assert r.grad_calls == 100 and r.status == 1
    r = solve(problem, "bi-sg", max_time=0.05)
    assert r.time_s < 1.0 and r.status == 1


def test_history_recording_is_off_the_books(problem):
    a = solve(problem, "pb-apg", max_iter=200, record_every=1)
    b = solve(problem, "pb-apg", max_iter=200, record_every=1000)
    assert a.grad_calls == b.grad_calls and np.array_equal(a.x, b.x)
    assert len(a.history["f"]) > len(b.history["f"])


def test_pb_apg_greedy_variant_matches_fista_limit(problem):
    fista = solve(problem, "pb-apg", gamma=1e4, max_iter=5000)
    greedy = solve(problem, "pb-apg", gamma=1e4, variant="greedy", max_iter=5000)
    assert greedy.status == 2 and fista.status == 2  # both reach the ||x_k - x_k-1|| <= tol rule
    assert abs(greedy.f - fista.f) <= 1e-6 and abs(greedy.g - fista.g) <= 1e-8
    with pytest.raises(ValueError, match="variant"):
        solve(problem, "pb-apg", variant="nesterov")


def test_budget_validation(problem):
    with pytest.raises(ValueError, match="max_iter"):
        solve(problem, "a-irg", max_iter=0)
    with pytest.raises(ValueError, match="max_time"):
        solve(problem, "a-irg", max_time=-1.0)
