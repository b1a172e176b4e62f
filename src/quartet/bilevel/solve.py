"""One entry point for every method: ``solve(problem, method=..., eps_f=..., eps_g=..., **options)``."""

from __future__ import annotations

import inspect
from typing import Callable

import numpy as np

from .agmbio import agm_bio
from .airg import a_irg
from .bigsam import big_sam
from .bisecbio import bisec_bio
from .bisg import bi_sg
from .cgbio import cg_bio
from .dbgd import dbgd
from .fcbio import fc_bio, fc_bio_lip
from .mng import mng
from .oracle import Budget, CountingOracle
from .pbapg import pb_apg
from .problems import BilevelProblem
from .rapm import r_apm
from .result import BilevelResult, MethodOutput

__all__ = ["solve", "METHODS", "PAPER_METHODS"]

MethodFn = Callable[..., MethodOutput]

#: every method by its CLI name
METHODS: dict[str, MethodFn] = {
    "fc-bio": fc_bio,
    "fc-bio-lip": fc_bio_lip,
    "a-irg": a_irg,
    "bi-sg": bi_sg,
    "cg-bio": cg_bio,
    "agm-bio": agm_bio,
    "pb-apg": pb_apg,
    "bisec-bio": bisec_bio,
    "big-sam": big_sam,
    "dbgd": dbgd,
    "r-apm": r_apm,
    "mng": mng,
}

#: iteration budget of a baseline when no budget is given
DEFAULT_BASELINE_MAX_ITER = 10_000

#: the methods compared in the paper's figures
PAPER_METHODS = ("fc-bio", "fc-bio-lip", "a-irg", "bi-sg", "cg-bio", "agm-bio", "pb-apg", "bisec-bio")


def _check_eps(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"invalid {name}={value!r}: must be a number > 0") from None
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"invalid {name}={value!r}: must be a finite number > 0")
    return v


def solve(problem: BilevelProblem, method: str = "fc-bio", *, eps_f: float = 1e-6, eps_g: float = 1e-6,
          max_iter: int | None = None, max_time: float | None = None, max_grad_calls: int | None = None,
          record_every: int = 1, **options) -> BilevelResult:
    """Solve min f(x) s.t. x in argmin_Z g with ``method`` to (eps_f, eps_g)-weak optimality.

    ``max_iter``/``max_time``/``max_grad_calls`` bound the run (history is recorded off the clock every
    ``record_every`` iterations); ``options`` go to the method (see each method's signature, e.g.
    ``inner_max_iter`` for fc-bio or ``gamma`` for pb-apg). Baselines have no weak-optimality certificate: they run
    until their own stopping rule or the budget (``DEFAULT_BASELINE_MAX_ITER`` iterations when none is given);
    FC-BiO stops when its certificate holds. ``result.status``: 0 certified, 1 budget exhausted, 2 the method's
    own stopping rule (no certificate), 3 a needed certificate could not be established (see ``message``).
    """
    if not isinstance(problem, BilevelProblem):
        raise ValueError(f"invalid problem of type {type(problem).__name__}: must be a BilevelProblem")
    if method not in METHODS:
        raise ValueError(f"invalid method={method!r}: must be one of {', '.join(METHODS)}")
    eps_f = _check_eps("eps_f", eps_f)
    eps_g = _check_eps("eps_g", eps_g)
    fn = METHODS[method]
    params = inspect.signature(fn).parameters
    unknown = [k for k in options if k not in params or k in ("problem", "oracle", "eps_f", "eps_g")]
    if unknown:
        allowed = [k for k in params if k not in ("problem", "oracle", "eps_f", "eps_g")]
        raise ValueError(f"invalid option(s) {', '.join(unknown)} for method={method!r}: "
                         f"allowed are {', '.join(allowed)}")
    if method not in ("fc-bio", "fc-bio-lip") and max_iter is None and max_time is None and max_grad_calls is None:
        max_iter = DEFAULT_BASELINE_MAX_ITER  # baselines have no certificate to stop on
    budget = Budget(max_iter=max_iter, max_time=max_time, max_grad_calls=max_grad_calls)
    oracle = CountingOracle(problem, budget=budget, record_every=record_every)
    oracle.record(problem.x0, "start", force=True)
    out = fn(problem, oracle, eps_f, eps_g, **options)
    time_s = oracle.elapsed()
    x = np.asarray(out.x, dtype=float)
    f_gap, g_gap = problem.gaps(x)
    return BilevelResult(
        x=x, f=float(problem.f(x)), g=float(problem.g(x)), f_gap=f_gap, g_gap=g_gap, method=method,
        eps_f=eps_f, eps_g=eps_g, status=out.status, message=out.message,
        grad_f_calls=oracle.grad_f_calls, grad_g_calls=oracle.grad_g_calls, f_calls=oracle.f_calls,
        g_calls=oracle.g_calls, nit=oracle.iterations, time_s=time_s, history=oracle.history, info=out.info,
    )
