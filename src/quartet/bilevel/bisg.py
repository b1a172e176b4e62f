"""Bi-SG: bi-sub-gradient method (Merchav & Sabach, SIOPT 2023), smooth-g form.

y_k = P_Z(x_k - ∇g(x_k)/L_g);  x_{k+1} = y_k - η_k ∇f(y_k),  η_k = c (k+1)^{-α}.
Paper settings α = 0.75, c = 1/L_f. The public code does not project after the f-step (x may leave Z);
``project_outer=True`` adds that projection. The reported iterate is y_k, which always lies in Z.
"""

from __future__ import annotations

from .oracle import CountingOracle
from .problems import BilevelProblem
from .result import MethodOutput

__all__ = ["bi_sg"]


def bi_sg(problem: BilevelProblem, oracle: CountingOracle, eps_f: float, eps_g: float, *,
          alpha: float = 0.75, c: float | None = None, project_outer: bool = False) -> MethodOutput:
    """Bi-SG; no stopping rule: runs to budget."""
    if not 0.5 < alpha < 1:
        raise ValueError(f"invalid alpha={alpha!r}: must be in (0.5, 1)")
    L_f, L_g = problem.smoothness()
    c = 1.0 / L_f if c is None else c
    if not c > 0:
        raise ValueError(f"invalid c={c!r}: must be > 0")
    P = problem.domain.project
    x = problem.x0.copy()
    y = x
    k = 0
    while not oracle.exhausted():
        y = P(x - oracle.grad_g(x) / L_g)
        x = y - c * (k + 1) ** (-alpha) * oracle.grad_f(y)
        if project_outer:
            x = P(x)
        k += 1
        oracle.iterations += 1
        oracle.record(y, "main")
    return MethodOutput(y, 1, "budget exhausted (Bi-SG has no stopping rule)")
