"""Result objects, in the manner of ``scipy.optimize.OptimizeResult``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BilevelResult", "MethodOutput", "STATUS"]

#: status codes shared by all methods
STATUS = {
    0: "certified: the returned point is (eps_f, eps_g)-weak optimal by the method's own certificate",
    1: "budget exhausted (iterations, time or oracle calls) without a certificate",
    2: "stopped by the method's own stopping rule, which does not certify weak optimality",
    3: "finished, but a certificate the method needs could not be established (see message)",
}


@dataclass
class MethodOutput:
    """What a method function returns to ``solve``."""

    x: np.ndarray
    status: int
    message: str
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class BilevelResult:
    """Outcome of ``solve``.

    ``f_gap``/``g_gap`` are signed gaps to the problem's references (None without a reference): weak
    optimality means f_gap <= eps_f and g_gap <= eps_g, and f_gap < 0 is allowed. ``history`` holds one row
    per recorded iteration (time, oracle counts, f, g, phase); ``info`` holds method-specific details (for
    FC-BiO: g-hat, its certificate, the final bracket and every bisection step).
    """

    x: np.ndarray
    f: float
    g: float
    f_gap: float | None
    g_gap: float | None
    method: str
    eps_f: float
    eps_g: float
    status: int
    message: str
    grad_f_calls: int
    grad_g_calls: int
    f_calls: int
    g_calls: int
    nit: int
    time_s: float
    history: dict[str, list]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def grad_calls(self) -> int:
        return self.grad_f_calls + self.grad_g_calls

    @property
    def success(self) -> bool:
        return self.status == 0

    @property
    def weakly_optimal(self) -> bool | None:
        """Whether (f_gap, g_gap) meet (eps_f, eps_g) against the references; None without references."""
        if self.f_gap is None or self.g_gap is None:
            return None
        return self.f_gap <= self.eps_f and self.g_gap <= self.eps_g

    def summary(self) -> dict[str, Any]:
        """JSON-friendly scalars (what ``quartet bilevel solve`` writes to summary.json)."""
        return {
            "method": self.method, "f": self.f, "g": self.g, "f_gap": self.f_gap, "g_gap": self.g_gap,
            "eps_f": self.eps_f, "eps_g": self.eps_g, "weakly_optimal": self.weakly_optimal,
            "grad_calls": self.grad_calls, "grad_f_calls": self.grad_f_calls, "grad_g_calls": self.grad_g_calls,
            "f_calls": self.f_calls, "g_calls": self.g_calls, "nit": self.nit, "time_s": self.time_s,
            "status": self.status, "success": self.success, "message": self.message,
        }

    def __repr__(self) -> str:
        gaps = "" if self.f_gap is None else f", f_gap={self.f_gap:.3e}, g_gap={self.g_gap:.3e}"
        return (f"BilevelResult(method={self.method!r}, status={self.status}, f={self.f:.6g}, g={self.g:.6g}{gaps}, "
                f"grad_calls={self.grad_calls}, nit={self.nit}, time_s={self.time_s:.3f}, message={self.message!r})")
