"""Problem construction, validation, constant estimation and the hardness instances."""

import numpy as np
import pytest

from quartet.bilevel import (Ball, BilevelProblem, Box, hard_lipschitz_instance, hard_smooth_instance,
                             logistic_bilevel, min_norm_least_squares, quadratic_bilevel, solve)
from quartet.bilevel.data import load_logistic_data, load_min_norm_data


def _quad_problem(**kw):
    args = dict(f=lambda x: 0.5 * float(x @ x), grad_f=lambda x: x.copy(), g=lambda x: 0.5 * float(x[0] ** 2),
                grad_g=lambda x: np.r_[x[0], np.zeros(len(x) - 1)], domain=Ball(np.zeros(3), 1.0),
                x0=np.array([0.5, 0.0, 0.0]))
    args.update(kw)
    return BilevelProblem(**args)


def test_bad_problem_definitions_rejected():
    with pytest.raises(ValueError, match="x0"):
        _quad_problem(x0=np.array([2.0, 0.0, 0.0]))  # outside Z
    with pytest.raises(ValueError, match="x0"):
        _quad_problem(x0=np.zeros(4))  # wrong length
    with pytest.raises(ValueError, match="grad_f"):
        _quad_problem(grad_f=lambda x: np.zeros(2))
    with pytest.raises(ValueError, match="invalid f"):
        _quad_problem(f=lambda x: np.ones(3))
    with pytest.raises(ValueError, match="L_f"):
        _quad_problem(L_f=0.0)
    with pytest.raises(ValueError, match="rows"):
        min_norm_least_squares(np.ones((3, 4)), np.ones(5))
    with pytest.raises(ValueError, match="y_train"):
        logistic_bilevel(np.ones((2, 3)), [0, 1], np.ones((2, 3)), [1, -1])
    with pytest.raises(ValueError, match="P_f"):
        quadratic_bilevel(-np.eye(3), np.zeros(3), np.eye(3), np.zeros(3), Ball(np.zeros(3), 1), np.zeros(3))


def test_solve_rejects_bad_arguments():
    p = _quad_problem()
    for bad in (0.0, -1e-3, float("nan")):
        with pytest.raises(ValueError, match="eps_f"):
            solve(p, "fc-bio", eps_f=bad)
    with pytest.raises(ValueError, match="method"):
        solve(p, "newton")
    with pytest.raises(ValueError, match="inner_cap"):
        solve(p, "fc-bio", inner_cap=3)
    with pytest.raises(ValueError, match="bisec-bio"):
        solve(_quad_problem(), "bisec-bio")  # no sublevel-set projection


def test_smoothness_is_estimated_when_not_given():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((6, 4))
    H = M.T @ M
    p = _quad_problem(f=lambda x: 0.5 * float(x @ H @ x), grad_f=lambda x: H @ x, domain=Ball(np.zeros(4), 1.0),
                      x0=np.zeros(4), g=lambda x: float(x.sum()) ** 2, grad_g=lambda x: 2 * x.sum() * np.ones(4))
    L_f, L_g = p.smoothness()
    lam = np.linalg.eigvalsh(H)[-1]
    assert lam <= L_f <= 1.2 * lam  # power iteration, then a 10% safety margin
    assert 8.0 <= L_g <= 1.2 * 8.0  # Hessian 2·11ᵀ has norm 2·4


def test_min_norm_reference_is_the_pseudoinverse_solution():
    d = load_min_norm_data("synthetic:30x60", seed=3)
    p = min_norm_least_squares(d.A, d.b)
    assert p.g_star == pytest.approx(0.0, abs=1e-20)
    assert p.f_star == pytest.approx(0.5, rel=1e-9)  # the generator scales ||A⁺b|| to 1
    np.testing.assert_allclose(p.x_star, np.linalg.pinv(d.A) @ d.b, atol=1e-9)


def test_data_specs():
    assert load_min_norm_data("synthetic:12x20").A.shape == (12, 20)
    assert load_min_norm_data("digits").A.shape == (400, 64)
    assert load_min_norm_data("diabetes-colinear").A.shape == (442, 21)
    lg = load_logistic_data("rcv1-like:50x300")
    assert lg.A_train.shape == (50, 300) and set(np.unique(lg.y_val)) <= {-1.0, 1.0}
    with pytest.raises(ValueError, match="data"):
        load_min_norm_data("wiki-nope")


@pytest.mark.parametrize("T", [5, 50])
def test_hard_smooth_instance_closed_form(T):
    p = hard_smooth_instance(T)
    assert p.f_star == pytest.approx((T + 1) / (24 * (2 * T + 1)), rel=1e-12)
    np.testing.assert_allclose(p.grad_g(p.x_star), 0.0, atol=1e-13)  # x* minimises g (interior of the ball)
    assert np.linalg.norm(p.x_star) <= 1.0


def test_hard_lipschitz_instance_closed_form():
    p = hard_lipschitz_instance(10)
    assert p.f_star == pytest.approx(0.25)
    # x* = -(1/√q)·1 minimises g: every direction increases it
    rng = np.random.default_rng(0)
    g0 = p.g(p.x_star)
    for _ in range(50):
        d = rng.standard_normal(20)
        assert p.g(p.domain.project(p.x_star + 1e-3 * d)) >= g0 - 1e-12
    # the resisting oracle names the smallest maximising index
    assert np.argmax(p.grad_g(np.zeros(20))) == 0


def test_box_quadratic_problem_gaps():
    P = np.diag([1.0, 0.0])
    p = quadratic_bilevel(np.eye(2), np.zeros(2), P, np.zeros(2), Box(-np.ones(2), np.ones(2)), np.array([1.0, 1.0]))
    assert p.gaps(np.zeros(2)) == (None, None)
