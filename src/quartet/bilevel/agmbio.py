"""AGM-BiO: accelerated gradient method for simple bilevel problems (Cao, Jiang, Hamedani, Mokhtari,
NeurIPS 2024), in the form reconstructed in the reference note (the step constants and the cut level are
marked uncertain there; this follows it):

a_k = γ(k+1)/(2L_f), A_{k+1} = A_k + a_k, y_k = (A_k x_k + a_k z_k)/A_{k+1},
z_{k+1} = P_{X_k}(z_k - a_k ∇f(y_k)) with the cutting plane X_k = {z in Z : g(y_k) + <∇g(y_k), z - y_k> <= ĝ},
x_{k+1} = (A_k x_k + a_k z_{k+1})/A_{k+1}.
The cut level ĝ is ``g_level`` when given (e.g. g* = 0 for a consistent least-squares system) and otherwise
FC-BiO's certified g-hat (so the two share one estimate). With g constant it reduces to accelerated projected
gradient on f. Paper settings: γ = 1 (min-norm), γ = 1/((2L_g/L_f)T^{2/3} + 2) (logistic).
"""

from __future__ import annotations

from .fcbio import ghat_stage
from .oracle import CountingOracle
from .problems import BilevelProblem
from .result import MethodOutput

__all__ = ["agm_bio"]


def agm_bio(problem: BilevelProblem, oracle: CountingOracle, eps_f: float, eps_g: float, *,
            gamma: float = 1.0, g_level: float | None = None, ghat_max_iter: int = 15000) -> MethodOutput:
    """AGM-BiO; no certificate: runs to budget."""
    if not gamma > 0:
        raise ValueError(f"invalid gamma={gamma!r}: must be > 0")
    dom = problem.domain
    L_f, _ = problem.smoothness()
    if g_level is None:
        g_level = ghat_stage(problem, oracle, eps_g, max_iter=ghat_max_iter).value
    x = problem.x0.copy()
    z = x.copy()
    A = 0.0
    k = 0
    while not oracle.exhausted():
        a = gamma * (k + 1) / (2 * L_f)
        A_new = A + a
        y = (A * x + a * z) / A_new
        gy, dgy = oracle.g_vg(y)
        step = z - a * oracle.grad_f(y)
        z_new = dom.project_halfspace(step, dgy, g_level - gy + float(dgy @ y))
        if z_new is None:  # only if g_level < g*: fall back to Z alone
            z_new = dom.project(step)
        x = (A * x + a * z_new) / A_new
        z, A = z_new, A_new
        k += 1
        oracle.iterations += 1
        oracle.record(x, "main")
    return MethodOutput(x, 1, "budget exhausted (AGM-BiO has no stopping rule)", {"g_level": g_level})
