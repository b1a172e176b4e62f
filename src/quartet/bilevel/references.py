"""Reference optimal values (f*, g*) for reporting gaps: closed form for min-norm, CVXPY otherwise.

The CVXPY references solve the two levels in turn, g* = min_Z g and then f* = min f s.t. g <= g* + tol, x in Z,
so they are accurate to about ``tol`` and the solver's precision; use them on small instances only.
"""

from __future__ import annotations

import numpy as np

from .domains import Ball, Box, Domain, Rn
from .problems import BilevelProblem

__all__ = ["cvxpy_reference", "with_reference"]


def _cvx_constraints(cp, x, domain: Domain):
    if isinstance(domain, Ball):
        return [cp.norm(x - domain.center, 2) <= domain.radius]
    if isinstance(domain, Box):
        return [x >= domain.lower, x <= domain.upper]
    if isinstance(domain, Rn):
        return []
    raise ValueError(f"invalid domain {type(domain).__name__}: CVXPY references support Ball, Box and Rn")


def cvxpy_reference(problem: BilevelProblem, tol: float = 1e-7) -> tuple[float, float, np.ndarray]:
    """(f*, g*, x*) for the logistic and quadratic families by two CVXPY solves (Clarabel)."""
    import cvxpy as cp

    family = problem.info.get("family")
    x = cp.Variable(problem.dim)
    cons = _cvx_constraints(cp, x, problem.domain)
    if family == "logistic":
        A_tr, y_tr, A_val, y_val = problem.info["data"]
        f_expr = cp.sum(cp.logistic(-cp.multiply(y_val, A_val @ x))) / A_val.shape[0]
        g_expr = cp.sum(cp.logistic(-cp.multiply(y_tr, A_tr @ x))) / A_tr.shape[0]
    elif family == "quadratic":
        Pf, qf, Pg, qg = problem.info["data"]
        f_expr = 0.5 * cp.quad_form(x, cp.psd_wrap(Pf)) + qf @ x
        g_expr = 0.5 * cp.quad_form(x, cp.psd_wrap(Pg)) + qg @ x
    else:
        raise ValueError(f"invalid problem family={family!r}: CVXPY references support 'logistic' and 'quadratic'")
    cp.Problem(cp.Minimize(g_expr), cons).solve(solver=cp.CLARABEL)
    g_star = float(problem.g(np.asarray(x.value)))
    # the second stage is nearly infeasible when the lower level has a unique (boundary) minimiser; relax the
    # level until the solver succeeds. A relaxed f* is a lower value, so reported f-gaps only grow (conservative).
    for level in (tol, 10 * tol, 100 * tol, 1000 * tol):
        try:
            cp.Problem(cp.Minimize(f_expr), cons + [g_expr <= g_star + level]).solve(solver=cp.CLARABEL)
        except cp.error.SolverError:
            continue
        if x.value is not None:
            problem.info["reference_tol"] = level
            x_star = np.asarray(x.value, dtype=float)
            return float(problem.f(x_star)), g_star, x_star
    raise ValueError(f"invalid problem {problem.name!r} for a CVXPY reference: the solver failed at every level")


def with_reference(problem: BilevelProblem, tol: float = 1e-7) -> BilevelProblem:
    """Fill ``f_star``, ``g_star``, ``x_star`` by CVXPY when the problem has none; returns the problem."""
    if problem.f_star is None or problem.g_star is None:
        problem.f_star, problem.g_star, problem.x_star = cvxpy_reference(problem, tol)
    return problem
