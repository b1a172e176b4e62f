"""a-IRG: averaged iteratively regularized gradient (Kaushik & Yousefian, SIOPT 2021).

x_{k+1} = P_Z(x_k - γ_k(∇g(x_k) + η_k ∇f(x_k))), γ_k = γ0/√(k+1), η_k = η0/(k+1)^{1/4}.
The public code (and so the FC-BiO paper's plots) reports the last iterate; ``average=True`` reports the
γ_k^r-weighted average of the original paper instead. Paper settings: γ0 = η0 = 1e-3 (min-norm),
γ0 = 0.1, η0 = 1e3 (logistic).
"""

from __future__ import annotations

import numpy as np

from .oracle import CountingOracle
from .problems import BilevelProblem
from .result import MethodOutput

__all__ = ["a_irg"]


def a_irg(problem: BilevelProblem, oracle: CountingOracle, eps_f: float, eps_g: float, *,
          gamma0: float | None = None, eta0: float = 1.0, average: bool = False, r: float = 0.5) -> MethodOutput:
    """a-IRG; ``gamma0`` defaults to 1/L_g (the Bisec-BiO repository's copy). No stopping rule: runs to budget."""
    if gamma0 is None:
        gamma0 = 1.0 / problem.smoothness()[1]
    if not (gamma0 > 0 and eta0 > 0):
        raise ValueError(f"invalid gamma0={gamma0!r}, eta0={eta0!r}: both must be > 0")
    if not 0 <= r < 1:
        raise ValueError(f"invalid r={r!r}: must be in [0, 1)")
    P = problem.domain.project
    x = problem.x0.copy()
    x_avg, weight_sum = x.copy(), 0.0
    k = 0
    while not oracle.exhausted():
        gamma, eta = gamma0 / np.sqrt(k + 1), eta0 / (k + 1) ** 0.25
        x = P(x - gamma * (oracle.grad_g(x) + eta * oracle.grad_f(x)))
        if average:
            w = gamma**r
            x_avg = (weight_sum * x_avg + w * x) / (weight_sum + w)
            weight_sum += w
        k += 1
        oracle.iterations += 1
        oracle.record(x_avg if average else x, "main")
    return MethodOutput(x_avg if average else x, 1, "budget exhausted (a-IRG has no stopping rule)")
