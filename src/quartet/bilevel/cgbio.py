"""CG-BiO: conditional gradient for bilevel optimization (Jiang, Abolfazli, Mokhtari, Hamedani, AISTATS 2023).

Pre-stage: Frank-Wolfe on g until the FW gap <∇g(x), x - s> <= eps_g/2 (or the cap) gives x̂0.
Main loop: s_k = argmin <∇f(x_k), s> over X_k = {s in Z : <∇g(x_k), s - x_k> <= g(x̂0) - g(x_k)} (X_k ⊇ X_g*),
stop when <∇f(x_k), x_k - s_k> <= eps_f and g(x_k) - g(x̂0) <= eps_g/2, else x_{k+1} = x_k + γ_k(s_k - x_k),
γ_k = a/(k + b). Paper settings: a/(k+b) = 0.5/(k+1) (min-norm), 2/(k+2) (logistic); pre-stage 10000/1500.
"""

from __future__ import annotations

from .oracle import CountingOracle
from .problems import BilevelProblem
from .result import MethodOutput

__all__ = ["cg_bio"]


def cg_bio(problem: BilevelProblem, oracle: CountingOracle, eps_f: float, eps_g: float, *,
           step_scale: float = 2.0, step_shift: float = 2.0, ghat_max_iter: int = 10000) -> MethodOutput:
    """CG-BiO; needs a bounded Z (linear minimisation oracle)."""
    if not (step_scale > 0 and step_shift > 0):
        raise ValueError(f"invalid step_scale={step_scale!r}, step_shift={step_shift!r}: both must be > 0")
    dom = problem.domain
    if not dom.bounded:
        raise ValueError("invalid domain=Rn for cg-bio: needs a bounded Z (Ball or Box)")
    x = problem.x0.copy()
    for k in range(int(ghat_max_iter)):
        gg = oracle.grad_g(x)
        s = dom.lmo(gg)
        if float(gg @ (x - s)) <= eps_g / 2:
            break
        x = x + (2.0 / (k + 2)) * (s - x)
        oracle.iterations += 1
        oracle.record(x, "ghat")
        if oracle.exhausted():
            return MethodOutput(x, 1, "budget exhausted in the Frank-Wolfe pre-stage")
    g0 = oracle.g(x)
    k = 0
    while not oracle.exhausted():
        gf = oracle.grad_f(x)
        gx, gg = oracle.g_vg(x)
        s = dom.lmo_halfspace(gf, gg, float(gg @ x) + g0 - gx)
        if float(gf @ (x - s)) <= eps_f and gx - g0 <= eps_g / 2:
            return MethodOutput(x, 2, "CG-BiO stopping rule met (FW gap <= eps_f, g(x) - g(x0) <= eps_g/2)")
        x = x + (step_scale / (k + step_shift)) * (s - x)
        k += 1
        oracle.iterations += 1
        oracle.record(x, "main")
    return MethodOutput(x, 1, "budget exhausted")
