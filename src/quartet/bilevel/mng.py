"""MNG: minimal norm gradient method (Beck & Sabach, Math. Program. 2014).

For min ω(x) over argmin_Z g with ω strongly convex, each iteration takes the gradient mapping of g,
    y_k = P_Z(x_k - ∇g(x_k)/M),  G_k = M (x_k - y_k),
and moves to the ω-minimiser over two halfspaces that contain the solution set (for M >= L_g):
    x_k+1 = argmin ω(x)  s.t.  <G_k, x_k - x> >= (3/(4M))||G_k||²  and  <∇ω(x_k), x - x_k> >= 0.
The public code (``MNG.m`` in XuShi22/PB-APG and Raymond30/CG-BiO) solves that step with a QP solver for
ω = ½||x||². Here ω must be an isotropic quadratic, f = (μ/2)||x - c||² + const (``mu_f == L_f``), which
covers the min-norm problem: the step is then the projection of c = x_k - ∇f(x_k)/μ onto the two
halfspaces, in closed form. It starts at c, the minimiser of f (as the paper's method does); x_k need
not lie in Z, so the method reports y_k, which does.
"""

from __future__ import annotations

import numpy as np

from .oracle import CountingOracle
from .problems import BilevelProblem
from .result import MethodOutput

__all__ = ["mng", "project_two_halfspaces"]


def project_two_halfspaces(c: np.ndarray, a: np.ndarray, alpha: float, b: np.ndarray, beta: float) -> np.ndarray:
    """Euclidean projection of c onto {<a, x> <= alpha} ∩ {<b, x> <= beta} (assumed non-empty).

    KKT: the answer is c itself, its projection onto one halfspace when that satisfies the other constraint,
    or the projection onto both boundary hyperplanes, c - λ_a a - λ_b b from a 2x2 Gram system.
    """
    ra, rb = float(a @ c) - alpha, float(b @ c) - beta  # constraint residuals at c
    if ra <= 0 and rb <= 0:
        return c.copy()
    aa, bb, ab = float(a @ a), float(b @ b), float(a @ b)
    candidates = []
    if ra > 0 and aa > 0:
        xa = c - (ra / aa) * a
        if float(b @ xa) <= beta + 1e-12 * (1 + abs(beta)):
            return xa
        candidates.append(xa)
    if rb > 0 and bb > 0:
        xb = c - (rb / bb) * b
        if float(a @ xb) <= alpha + 1e-12 * (1 + abs(alpha)):
            return xb
        candidates.append(xb)
    det = aa * bb - ab * ab
    if det > 1e-14 * aa * bb:
        la = (bb * ra - ab * rb) / det
        lb = (aa * rb - ab * ra) / det
        return c - la * a - lb * b
    # parallel normals: the tighter halfspace is active (its projection is the only candidate left)
    return candidates[0] if candidates else c.copy()


def mng(problem: BilevelProblem, oracle: CountingOracle, eps_f: float, eps_g: float, *,
        M: float | None = None) -> MethodOutput:
    """MNG; no stopping rule: runs to budget. ``M`` defaults to L_g (the method needs M >= L_g)."""
    L_f, L_g = problem.smoothness()
    mu = float(problem.mu_f)
    if not (mu > 0 and abs(L_f - mu) <= 1e-12 * L_f):
        raise ValueError(f"invalid problem {problem.name!r} for mng: needs f = (mu/2)||x - c||² + const, i.e. "
                         f"mu_f == L_f > 0 (got mu_f={mu!r}, L_f={L_f!r}); use it on min-norm problems")
    M = L_g if M is None else M
    if not (np.isfinite(M) and M > 0):
        raise ValueError(f"invalid M={M!r}: must be a finite number > 0 (M >= L_g={L_g:.6g} for the theory)")
    P = problem.domain.project
    # Beck & Sabach start at the minimiser of ω: then every x_k minimises f over a superset of the solution
    # set, so f(x_k) <= f* rises to f*. From another start the first cut <∇f(x_0), x - x_0> >= 0 can exclude
    # the solution set, and the method stalls above f* (seen: +0.18 on a 20x40 min-norm problem from x0).
    x = problem.x0 - problem.grad_f(problem.x0) / mu  # uncounted: set-up of the method, not an iteration
    y = P(x)
    while not oracle.exhausted():
        y = P(x - oracle.grad_g(x) / M)
        G = M * (x - y)
        df = oracle.grad_f(x)
        c = x - df / mu  # the centre of the quadratic f
        # <G, x> <= <G, x_k> - 3/(4M)||G||²  and  <-∇f(x_k), x> <= <-∇f(x_k), x_k>
        x = project_two_halfspaces(c, G, float(G @ x) - 0.75 / M * float(G @ G), -df, -float(df @ x))
        oracle.iterations += 1
        oracle.record(y, "main")
    return MethodOutput(y, 1, "budget exhausted (MNG has no stopping rule)")
