"""DBGD: dynamic barrier gradient descent (Gong, Liu, Liu 2021).

x+ = P_Z(x - s(∇f + λ∇g)), λ = max{(φ - <∇f, ∇g>)/||∇g||², 0}, φ = min{α(g - g_level), β||∇g||²};
defaults α = β = 1, s = 1/L_g, g_level = 0 (the public code's choice).
"""

from __future__ import annotations

from .oracle import CountingOracle
from .problems import BilevelProblem
from .result import MethodOutput

__all__ = ["dbgd"]


def dbgd(problem: BilevelProblem, oracle: CountingOracle, eps_f: float, eps_g: float, *,
         step: float | None = None, alpha: float = 1.0, beta: float = 1.0, g_level: float = 0.0) -> MethodOutput:
    """DBGD; no stopping rule: runs to budget."""
    if step is None:
        step = 1.0 / problem.smoothness()[1]
    if not (step > 0 and alpha > 0 and beta > 0):
        raise ValueError(f"invalid step={step!r}, alpha={alpha!r}, beta={beta!r}: all must be > 0")
    P = problem.domain.project
    x = problem.x0.copy()
    while not oracle.exhausted():
        gf = oracle.grad_f(x)
        gx, gg = oracle.g_vg(x)
        gg2 = float(gg @ gg)
        phi = min(alpha * (gx - g_level), beta * gg2)
        lam = max((phi - float(gf @ gg)) / gg2, 0.0) if gg2 > 0 else 0.0
        x = P(x - step * (gf + lam * gg))
        oracle.iterations += 1
        oracle.record(x, "main")
    return MethodOutput(x, 1, "budget exhausted (DBGD has no stopping rule)")
