"""R-APM: regularized accelerated proximal method (Samadi, Burbano, Yousefian 2023, arXiv 2310.12247).

Accelerated projected gradient (FISTA momentum t+ = 1/2 + sqrt(1/4 + t²), no restart) on the regularized
lower level Φ = g + η f over Z, with step 1/(L_g + η L_f), stopping when ||x_k - x_k-1|| <= tol. This is the
public code (``R_APM.m`` in XuShi22/PB-APG); the reference note sets η = 1/γ, the inverse of PB-APG's
penalty, so the default η = 1e-5 pairs with PB-APG's γ = 1e5 (the paper's min-norm setting; 1e-4 for
logistic). Φ/η = f + g/η is PB-APG's objective: the two differ in scaling, step and momentum (no restart).
"""

from __future__ import annotations

import math

import numpy as np

from .oracle import CountingOracle
from .problems import BilevelProblem
from .result import MethodOutput

__all__ = ["r_apm"]


def r_apm(problem: BilevelProblem, oracle: CountingOracle, eps_f: float, eps_g: float, *,
          eta: float = 1e-5, tol: float = 1e-10) -> MethodOutput:
    """R-APM; stops on its own step-length rule (no weak-optimality certificate) or the budget."""
    if not (np.isfinite(eta) and eta > 0):
        raise ValueError(f"invalid eta={eta!r}: must be a finite number > 0")
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"invalid tol={tol!r}: must be a finite number >= 0")
    L_f, L_g = problem.smoothness()
    step = 1.0 / (L_g + eta * L_f)
    P = problem.domain.project
    x = problem.x0.copy()
    y = x
    t = 1.0
    while not oracle.exhausted():
        x_old = x
        x = P(y - step * (oracle.grad_g(y) + eta * oracle.grad_f(y)))
        t_new = 0.5 + math.sqrt(0.25 + t * t)
        y = x + ((t - 1) / t_new) * (x - x_old)
        t = t_new
        oracle.iterations += 1
        oracle.record(x, "main")
        if float(np.linalg.norm(x - x_old)) <= tol:
            return MethodOutput(x, 2, f"R-APM stopping rule met (||x_k - x_k-1|| <= {tol:g})")
    return MethodOutput(x, 1, "budget exhausted")
