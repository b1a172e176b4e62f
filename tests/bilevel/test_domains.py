"""Projections, hyperplane/halfspace projections, LMOs and model minima against brute force / CVXPY."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from quartet.bilevel.domains import Ball, Box, Rn

DIM = 5
vec = arrays(np.float64, DIM, elements=st.floats(-10, 10, allow_nan=False, allow_infinity=False))
radius = st.floats(0.1, 5.0)


def _domains(center, r):
    return [Ball(center, r), Box(center - r, center + 0.5 * r)]


@settings(max_examples=60, deadline=None)
@given(center=vec, r=radius, z=vec, x=vec)
def test_projection_is_feasible_idempotent_and_obtuse(center, r, z, x):
    for dom in _domains(center, r):
        p = dom.project(z)
        assert dom.contains(p)
        np.testing.assert_allclose(dom.project(p), p, atol=1e-12)
        q = dom.project(x)  # any feasible point: the variational inequality <z - p, q - p> <= 0 holds
        assert float((z - p) @ (q - p)) <= 1e-8 * (1 + np.abs(z).max() ** 2)
        # projections are non-expansive
        assert np.linalg.norm(dom.project(z) - dom.project(x)) <= np.linalg.norm(z - x) + 1e-9


@settings(max_examples=40, deadline=None)
@given(r=radius, z=vec, w=vec, b=st.floats(-5, 5))
def test_ball_hyperplane_projection_satisfies_kkt(r, z, w, b):
    dom = Ball(np.zeros(DIM), r)
    p = dom.project_hyperplane(z, w, b)
    ww = float(w @ w)
    if ww < 1e-12:
        return
    if abs(b) / np.sqrt(ww) > r:  # the hyperplane misses the ball
        assert p is None
        return
    assert p is not None
    assert abs(float(w @ p) + b) <= 1e-8 * (1 + abs(b) + np.sqrt(ww) * r)
    assert dom.contains(p, tol=1e-8)
    # optimality: no feasible point of B ∩ H is closer to z (sampled along the disc)
    rng = np.random.default_rng(0)
    for _ in range(20):
        v = rng.standard_normal(DIM)
        v -= (v @ w) / ww * w
        q = dom.project_hyperplane(p + v, w, b)
        assert np.linalg.norm(z - p) <= np.linalg.norm(z - q) + 1e-7


def test_box_hyperplane_projection_matches_cvxpy():
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(1)
    dom = Box(-np.ones(6), 2 * np.ones(6))
    for _ in range(5):
        z, w = 3 * rng.standard_normal(6), rng.standard_normal(6)
        b = float(rng.uniform(-1, 1))
        x = cp.Variable(6)
        cp.Problem(cp.Minimize(cp.sum_squares(x - z)), [x >= -1, x <= 2, w @ x + b == 0]).solve()
        np.testing.assert_allclose(dom.project_hyperplane(z, w, b), x.value, atol=1e-5)
    assert dom.project_hyperplane(np.zeros(6), np.ones(6), 100.0) is None  # <1, x> = -100 misses the box


def test_ball_lmo_halfspace_matches_cvxpy():
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(2)
    dom = Ball(rng.standard_normal(4), 1.5)
    for _ in range(6):
        c, a = rng.standard_normal(4), rng.standard_normal(4)
        beta = float(a @ dom.center + rng.uniform(-1, 1))
        s = dom.lmo_halfspace(c, a, beta)
        x = cp.Variable(4)
        cp.Problem(cp.Minimize(c @ x), [cp.norm(x - dom.center) <= 1.5, a @ x <= beta]).solve()
        assert float(c @ s) == pytest.approx(float(c @ x.value), abs=1e-5)
        assert float(a @ s) <= beta + 1e-8 and dom.contains(s, 1e-8)


@pytest.mark.parametrize("dom", [Ball(np.array([0.5, -1.0, 0.0]), 2.0), Box(-np.ones(3), np.array([1.0, 2.0, 0.5])),
                                 Rn(3)])
def test_model_min_matches_brute_force(dom):
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(3)
    y = rng.standard_normal(3)
    V = rng.standard_normal((4, 3))
    m = np.array([0.0, 0.5, 2.0, 1e-3]) if dom.bounded else np.array([0.7, 0.5, 2.0, 1e-1])
    got = dom.model_min(y, V, m)
    for i in range(4):
        x = cp.Variable(3)
        cons = ([cp.norm(x - dom.center) <= dom.radius] if isinstance(dom, Ball)
                else [x >= dom.lower, x <= dom.upper] if isinstance(dom, Box) else [])
        prob = cp.Problem(cp.Minimize(V[i] @ (x - y) + 0.5 * m[i] * cp.sum_squares(x - y)), cons)
        prob.solve()
        assert got[i] == pytest.approx(prob.value, abs=1e-5)


def test_domain_validation_errors():
    with pytest.raises(ValueError, match="radius"):
        Ball(np.zeros(3), -1.0)
    with pytest.raises(ValueError, match="lower"):
        Box(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="dim"):
        Rn(0)
    with pytest.raises(ValueError, match="bounded"):
        Rn(3).lmo(np.ones(3))


@settings(max_examples=40, deadline=None)
@given(center=vec, r=radius, y=vec, p=vec, q=vec, m=st.floats(0.0, 3.0))
def test_model_min_pair_formula_matches_batched_model_min(center, r, y, p, q, m):
    lam = np.array([0.0, 1e-6, 0.3, 0.5, 1.0])
    ms = np.full(5, m)
    for dom in (Ball(center, r), Box(center - r, center + r)):
        fast = dom.model_min_pair(y, p, q, lam, ms)
        ref = dom.model_min(y, lam[:, None] * p + (1 - lam)[:, None] * q, ms)
        np.testing.assert_allclose(fast, ref, rtol=1e-7, atol=1e-7 * (1 + np.abs(ref).max()))
