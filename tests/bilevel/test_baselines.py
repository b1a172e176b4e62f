"""Every baseline runs through solve(), decreases the lower-level gap and approaches the reference."""

import numpy as np
import pytest

from quartet.bilevel import METHODS, logistic_bilevel, min_norm_least_squares, solve
from quartet.bilevel.data import load_min_norm_data
from quartet.bilevel.mng import project_two_halfspaces

BASELINES = [m for m in METHODS if not m.startswith("fc-bio")]

# (max g-gap, max |f-gap|) after 3000 iterations on a well-conditioned 20x40 instance (ε = 1e-4)
EXPECTED = {"a-irg": (2e-2, 0.2), "bi-sg": (1e-3, 0.05), "cg-bio": (1e-3, 0.05), "agm-bio": (5e-2, 0.3),
            "pb-apg": (1e-6, 1e-3), "bisec-bio": (1e-4, 0.05), "big-sam": (1e-3, 0.05), "dbgd": (5e-2, 0.3),
            "r-apm": (1e-6, 1e-3), "mng": (1e-6, 1e-3)}


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


def test_mng_step_projects_onto_two_halfspaces():
    """The closed-form MNG step against brute force: the KKT point, checked by CVXPY when installed."""
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(3)
    for trial in range(60):
        c, a, b = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5)
        if trial % 4 == 0:
            b = -2.0 * a  # anti-parallel normals: a slab, the 2x2 system is singular
        alpha, beta = float(rng.standard_normal()), float(rng.standard_normal())
        if trial % 4 == 0:
            beta = abs(beta) + 2.0 * abs(alpha)  # keep the slab non-empty
        x = cp.Variable(5)
        cp.Problem(cp.Minimize(cp.sum_squares(x - c)), [a @ x <= alpha, b @ x <= beta]).solve()
        np.testing.assert_allclose(project_two_halfspaces(c, a, alpha, b, beta), x.value, atol=1e-5)


def test_mng_iterates_stay_below_f_star_and_rise(problem):
    """Beck & Sabach: from the minimiser of f, each x_k minimises f over a superset of the solution set, so
    f(x_k) <= f*; the reported y_k = P_Z(x_k - grad g/M) converges to the min-norm solution."""
    r = solve(problem, "mng", max_iter=3000, record_every=1)
    assert r.g_gap <= 1e-6 and abs(r.f_gap) <= 1e-3
    assert np.linalg.norm(r.x - problem.x_star) <= 1e-2


def test_mng_and_r_apm_reject_bad_input(problem):
    with pytest.raises(ValueError, match="eta"):
        solve(problem, "r-apm", eta=0.0)
    with pytest.raises(ValueError, match="M="):
        solve(problem, "mng", M=-1.0)
    A = np.random.default_rng(0).standard_normal((10, 6))
    y = np.sign(A[:, 0] + 0.1)
    logistic = logistic_bilevel(A[:5], y[:5], A[5:], y[5:], radius=5.0)
    with pytest.raises(ValueError, match="mu_f == L_f"):
        solve(logistic, "mng", max_iter=10)
