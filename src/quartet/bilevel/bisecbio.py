"""Bisec-BiO: bisection on the upper-level value with sublevel-set projections (Wang, Shi, Jiang, AISTATS 2024).

After a g-hat stage, bisect on c in [l, u]: solve min g over Z ∩ {f <= c} by accelerated projected gradient
(FISTA with restart, warm-started; stops when ||x_k - x_k-1|| <= inner_tol, at the cap, or, as an early stop,
as soon as g(x) <= g-hat + eps_g/2 proves c feasible); c is feasible (u = c) when g(x_c) <= g-hat + eps_g/2,
else l = c; stop when u - l <= eps_f. Needs ``problem.f_sublevel`` (e.g. a ball for f = ½||x||²); not
applicable to the logistic problem. Paper settings: inner cap 10000, g-hat stage 15000 iterations.
"""

from __future__ import annotations

import numpy as np

from .fcbio import ghat_stage
from .ghat import restarted_momentum
from .oracle import CountingOracle
from .problems import BilevelProblem
from .result import MethodOutput

__all__ = ["bisec_bio"]


def _min_g_on_sublevel(problem, oracle, domain, x_start, L_g, threshold, max_iter, tol):
    x = domain.project(x_start)
    y, theta = x.copy(), 1.0
    for _ in range(max_iter):
        gy, dg = oracle.g_vg(y)
        if gy <= threshold and domain.contains(y):
            return y, gy
        x_new = domain.project(y - dg / L_g)
        move = float(np.linalg.norm(x_new - x))
        y, theta = restarted_momentum(x, x_new, y, theta)
        x = x_new
        oracle.iterations += 1
        oracle.record(x, "bisection")
        if move <= tol or oracle.exhausted():
            break
    return x, oracle.g(x)


def bisec_bio(problem: BilevelProblem, oracle: CountingOracle, eps_f: float, eps_g: float, *,
              inner_max_iter: int = 10000, inner_tol: float = 1e-8, ghat_max_iter: int = 15000,
              lower: float | None = None) -> MethodOutput:
    """Bisec-BiO; requires ``problem.f_sublevel``."""
    if problem.f_sublevel is None:
        raise ValueError(f"invalid problem {problem.name!r} for bisec-bio: needs f_sublevel (projection onto "
                         "Z ∩ {f <= c}), available for f = ½||x||² (min-norm)")
    _, L_g = problem.smoothness()
    gh = ghat_stage(problem, oracle, eps_g, max_iter=ghat_max_iter)
    threshold = gh.value + eps_g / 2
    l = problem.f_lower if lower is None else float(lower)
    if l is None:
        raise ValueError("invalid lower=None for bisec-bio: the problem has no f_lower; give lower")
    u = oracle.f(gh.x)
    x_u = gh.x
    x_c, g_c = _min_g_on_sublevel(problem, oracle, problem.f_sublevel(l), gh.x, L_g, threshold, inner_max_iter,
                                  inner_tol)
    if g_c <= threshold:
        return MethodOutput(x_c, 2, "the lower end was already feasible", {"ghat": gh.value})
    steps = 0
    while u - l > eps_f and not oracle.exhausted():
        c = 0.5 * (l + u)
        x_c, g_c = _min_g_on_sublevel(problem, oracle, problem.f_sublevel(c), x_c, L_g, threshold,
                                      inner_max_iter, inner_tol)
        if g_c <= threshold:
            u, x_u = c, x_c
        else:
            l = c
        steps += 1
    status = 2 if u - l <= eps_f else 1
    return MethodOutput(x_u, status, "bisection bracket closed" if status == 2 else "budget exhausted",
                        {"ghat": gh.value, "lower": l, "upper": u, "bisection_steps": steps})
