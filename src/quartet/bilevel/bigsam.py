"""BiG-SAM: bilevel gradient sequential averaging method (Sabach & Shtern, SIOPT 2017).

y = P_Z(x - η_g ∇g(x)), z = x - η_f ∇f(x), x+ = α_k z + (1 - α_k) y with α_k = min{2γ/k, 1};
defaults γ = 10, η_g = 1/L_g, η_f = 1/L_f (the CG-BiO repository's settings).
"""

from __future__ import annotations

from .oracle import CountingOracle
from .problems import BilevelProblem
from .result import MethodOutput

__all__ = ["big_sam"]


def big_sam(problem: BilevelProblem, oracle: CountingOracle, eps_f: float, eps_g: float, *,
            gamma: float = 10.0) -> MethodOutput:
    """BiG-SAM; no stopping rule: runs to budget. Reports y (in Z)."""
    if not gamma > 0:
        raise ValueError(f"invalid gamma={gamma!r}: must be > 0")
    L_f, L_g = problem.smoothness()
    P = problem.domain.project
    x = problem.x0.copy()
    y = x
    k = 1
    while not oracle.exhausted():
        y = P(x - oracle.grad_g(x) / L_g)
        z = x - oracle.grad_f(x) / L_f
        alpha = min(2 * gamma / k, 1.0)
        x = alpha * z + (1 - alpha) * y
        k += 1
        oracle.iterations += 1
        oracle.record(y, "main")
    return MethodOutput(y, 1, "budget exhausted (BiG-SAM has no stopping rule)")
