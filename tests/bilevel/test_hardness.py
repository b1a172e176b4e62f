"""Theorems 4.1/4.2: zero-respecting methods cannot leave f = 0 for T queries, although f* > 0."""

import numpy as np
import pytest

from quartet.bilevel import hard_lipschitz_instance, hard_smooth_instance, solve
from quartet.bilevel.oracle import CountingOracle


class _QueryLog:
    """Wraps a problem's oracles to log every query point."""

    def __init__(self, problem):
        self.points = []
        for name in ("grad_f", "grad_g"):
            fn = getattr(problem, name)
            setattr(problem, name, self._wrap(fn))
        for name in ("f_value_and_grad", "g_value_and_grad"):
            fn = getattr(problem, name)
            setattr(problem, name, self._wrap(fn))

    def _wrap(self, fn):
        def logged(x):
            self.points.append(np.array(x, copy=True))
            return fn(x)
        return logged


@pytest.mark.parametrize("method,options", [("fc-bio", {}), ("a-irg", {}), ("pb-apg", {}), ("bi-sg", {}),
                                            ("agm-bio", {}), ("big-sam", {}), ("r-apm", {})])
def test_smooth_instance_first_T_queries_have_f_zero(method, options):
    T = 20
    p = hard_smooth_instance(T)
    log = _QueryLog(p)
    r = solve(p, method, eps_f=1e-3, eps_g=1e-3, max_grad_calls=4 * T, **options)
    assert len(log.points) >= T
    for k, x in enumerate(log.points[:T]):
        assert np.all(x[T:] == 0.0), f"query {k} touched a coordinate > T"
        assert p.f(x) == 0.0
    assert p.f_star > 1 / 48 - 1e-12
    assert r.grad_calls > 0


def test_lipschitz_instance_first_T_queries_have_f_zero():
    T = 15
    p = hard_lipschitz_instance(T)
    log = _QueryLog(p)
    solve(p, "fc-bio-lip", eps_f=1e-2, eps_g=1e-2, max_grad_calls=3 * T, inner_max_iter=200)
    assert len(log.points) >= T
    for x in log.points[:T]:
        assert p.f(x) == 0.0
    assert p.f_star == pytest.approx(0.25)


def test_counting_oracle_counts_queries():
    p = hard_smooth_instance(3)
    o = CountingOracle(p)
    o.f_vg(p.x0)
    o.grad_g(p.x0)
    o.g(p.x0)
    assert (o.f_calls, o.grad_f_calls, o.g_calls, o.grad_g_calls, o.grad_calls) == (1, 1, 1, 1, 2)
