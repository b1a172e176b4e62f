"""Simple bilevel problems: min f(x) over x in argmin_{z in Z} g(z).

``BilevelProblem`` holds the two objectives (values and (sub)gradients), the domain Z, a start point and the
constants the methods need; constants that are not given are estimated. Ready-made families:

- ``min_norm_least_squares``: f = ½||x||², g = ½||Ax - b||², Z = B(0, R) (the paper's problem (11)).
- ``logistic_bilevel``: f = validation logistic loss, g = training logistic loss, Z = B(0, R) (problem (12)).
- ``quadratic_bilevel``: f and g convex quadratics on any domain.
- ``hard_smooth_instance`` / ``hard_lipschitz_instance``: the lower-bound instances of Theorems 4.1 / 4.2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp

from .domains import Ball, Domain

__all__ = [
    "BilevelProblem",
    "min_norm_least_squares",
    "logistic_bilevel",
    "quadratic_bilevel",
    "hard_smooth_instance",
    "hard_lipschitz_instance",
    "estimate_smoothness",
]

Vector = np.ndarray
ValueAndGrad = Callable[[Vector], tuple[float, Vector]]


def _check_constant(name: str, value) -> float | None:
    if value is None:
        return None
    v = float(value)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"invalid {name}={value!r}: must be a finite number > 0 (or None to estimate it)")
    return v


def estimate_smoothness(grad: Callable[[Vector], Vector], points: list[Vector], iters: int = 30,
                        seed: int = 0) -> float:
    """Largest curvature of a gradient map near ``points``, by power iteration on gradient differences.

    Exact for quadratics (the difference quotient is the Hessian); for other smooth functions it estimates
    the local Hessian norm, which the caller inflates by a safety factor.
    """
    rng = np.random.default_rng(seed)
    best = 0.0
    for x in points:
        g0 = grad(x)
        scale = max(1.0, float(np.linalg.norm(x)))
        h = 1e-4 * scale
        v = rng.standard_normal(x.shape[0])
        v /= np.linalg.norm(v)
        est = 0.0
        for _ in range(iters):
            hv = (grad(x + h * v) - g0) / h
            est = float(np.linalg.norm(hv))
            if est == 0.0:
                break
            v = hv / est
        best = max(best, est)
    return best


@dataclass(eq=False)
class BilevelProblem:
    """min f(x) s.t. x in argmin_{z in Z} g(z), with convex f, g and convex Z.

    Give values and (sub)gradients as callables. ``f_value_and_grad`` / ``g_value_and_grad`` are optional fast
    paths that share work (e.g. the residual of a least-squares g). Constants not given are estimated:
    L_f, L_g by power iteration on gradient differences (times 1.1), C_f, C_g as ||grad(x0)|| + L·D.
    ``f_lower``/``g_lower`` are known lower bounds (0 for non-negative losses); ``f_star``/``g_star`` (and
    ``x_star``) are reference optimal values used only to report gaps. ``mu_f``/``mu_g`` are strong-convexity
    moduli (0 if unknown); they tighten FC-BiO's lower-bound certificates but never change its iterates.
    ``f_sublevel(c)`` returns the domain Z ∩ {f <= c} when that is a simple set (needed by Bisec-BiO only).
    """

    f: Callable[[Vector], float]
    grad_f: Callable[[Vector], Vector]
    g: Callable[[Vector], float]
    grad_g: Callable[[Vector], Vector]
    domain: Domain
    x0: Vector
    L_f: float | None = None
    L_g: float | None = None
    C_f: float | None = None
    C_g: float | None = None
    mu_f: float = 0.0
    mu_g: float = 0.0
    f_lower: float | None = None
    g_lower: float | None = None
    f_star: float | None = None
    g_star: float | None = None
    x_star: Vector | None = None
    f_value_and_grad: ValueAndGrad | None = None
    g_value_and_grad: ValueAndGrad | None = None
    f_sublevel: Callable[[float], Domain] | None = None
    name: str = "custom"
    smooth: bool = True
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.domain, Domain):
            raise ValueError(f"invalid domain={self.domain!r}: must be a Ball, Box or Rn instance")
        x0 = np.asarray(self.x0, dtype=float)
        if x0.ndim != 1 or x0.shape[0] != self.domain.dim:
            raise ValueError(f"invalid x0 with shape {x0.shape}: must be a vector of length "
                             f"domain.dim={self.domain.dim}")
        if not np.all(np.isfinite(x0)):
            raise ValueError("invalid x0: entries must be finite")
        if not self.domain.contains(x0, tol=1e-7):
            raise ValueError(f"invalid x0: it lies outside the domain {type(self.domain).__name__}; "
                             "give a start point in Z")
        self.x0 = x0
        for fn_name in ("f", "grad_f", "g", "grad_g"):
            if not callable(getattr(self, fn_name)):
                raise ValueError(f"invalid {fn_name}={getattr(self, fn_name)!r}: must be callable")
        for name, fn, gfn in (("f", self.f, self.grad_f), ("g", self.g, self.grad_g)):
            val = fn(x0)
            if not np.isscalar(val) and np.ndim(val) != 0:
                raise ValueError(f"invalid {name}: {name}(x0) returned shape {np.shape(val)}, must return a scalar")
            if not np.isfinite(float(val)):
                raise ValueError(f"invalid {name}: {name}(x0)={val} is not finite")
            gr = np.asarray(gfn(x0))
            if gr.shape != x0.shape:
                raise ValueError(f"invalid grad_{name}: returned shape {gr.shape} at x0, must be {x0.shape}")
        for name in ("mu_f", "mu_g"):
            v = float(getattr(self, name))
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"invalid {name}={v!r}: must be a finite number >= 0")
        self.L_f = _check_constant("L_f", self.L_f)
        self.L_g = _check_constant("L_g", self.L_g)
        self.C_f = _check_constant("C_f", self.C_f)
        self.C_g = _check_constant("C_g", self.C_g)
        if self.f_value_and_grad is None:
            self.f_value_and_grad = lambda x: (float(self.f(x)), self.grad_f(x))
        if self.g_value_and_grad is None:
            self.g_value_and_grad = lambda x: (float(self.g(x)), self.grad_g(x))
        self._estimated: dict[str, float] = {}

    @property
    def dim(self) -> int:
        return self.domain.dim

    @property
    def diameter(self) -> float:
        return self.domain.diameter

    def _estimate_points(self) -> list[Vector]:
        pts = [self.x0]
        rng = np.random.default_rng(1)
        z = self.domain.project(self.x0 + rng.standard_normal(self.dim) * max(1.0, float(np.linalg.norm(self.x0))))
        pts.append(z)
        return pts

    def smoothness(self) -> tuple[float, float]:
        """(L_f, L_g), estimating (once, then cached) the ones not given."""
        if not self.smooth and (self.L_f is None or self.L_g is None):
            raise ValueError(f"invalid method for problem {self.name!r}: it is not smooth (no L_f/L_g); "
                             "use fc-bio-lip")
        if self.L_f is None and "L_f" not in self._estimated:
            self._estimated["L_f"] = 1.1 * max(estimate_smoothness(self.grad_f, self._estimate_points()), 1e-12)
        if self.L_g is None and "L_g" not in self._estimated:
            self._estimated["L_g"] = 1.1 * max(estimate_smoothness(self.grad_g, self._estimate_points()), 1e-12)
        return (self.L_f or self._estimated["L_f"], self.L_g or self._estimated["L_g"])

    def lipschitz(self) -> tuple[float, float]:
        """(C_f, C_g) over Z; estimated as ||grad(x0)|| + L·D when not given (needs a bounded Z)."""
        out = []
        for name, given, grad, idx in (("C_f", self.C_f, self.grad_f, 0), ("C_g", self.C_g, self.grad_g, 1)):
            if given is not None:
                out.append(given)
                continue
            if name not in self._estimated:
                if not self.smooth:
                    raise ValueError(f"invalid problem: {name} is not given and the problem is not smooth; give {name}")
                if not self.domain.bounded:
                    raise ValueError(f"invalid problem: {name} is not given and Z is unbounded; "
                                     f"give {name} or a bounded domain")
                L = self.smoothness()[idx]
                self._estimated[name] = float(np.linalg.norm(grad(self.x0))) + L * self.diameter
            out.append(self._estimated[name])
        return out[0], out[1]

    def gaps(self, x: Vector) -> tuple[float | None, float | None]:
        """(f(x) - f*, g(x) - g*) when references exist (signed: weak optimality allows f(x) < f*)."""
        fg = None if self.f_star is None else float(self.f(x)) - self.f_star
        gg = None if self.g_star is None else float(self.g(x)) - self.g_star
        return fg, gg


# --------------------------------------------------------------------------------------------- families


def _lambda_max_gram(A) -> float:
    """Largest eigenvalue of AᵀA (dense: exact via the smaller Gram; sparse: Lanczos)."""
    if sp.issparse(A):
        from scipy.sparse.linalg import svds

        if min(A.shape) <= 2:
            return float(np.linalg.norm(A.toarray(), 2) ** 2)
        return float(svds(A.astype(float), k=1, return_singular_vectors=False, random_state=0)[0] ** 2)
    A = np.asarray(A)
    G = A @ A.T if A.shape[0] <= A.shape[1] else A.T @ A
    return float(np.linalg.eigvalsh(G)[-1])


def _check_matrix(name: str, A, rows: int | None = None):
    if not (sp.issparse(A) or isinstance(A, np.ndarray)):
        A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] < 1 or A.shape[1] < 1:
        raise ValueError(f"invalid {name} with shape {A.shape}: must be a non-empty 2-D matrix")
    if rows is not None and A.shape[0] != rows:
        raise ValueError(f"invalid {name} with {A.shape[0]} rows: must have {rows} rows to match the labels/targets")
    return A.tocsr().astype(float) if sp.issparse(A) else np.ascontiguousarray(A, dtype=float)


def min_norm_least_squares(A, b, *, radius: float = 2.0, x0: Vector | None = None, seed: int = 0,
                           name: str = "min-norm") -> BilevelProblem:
    """The paper's problem (11): f = ½||x||², g = ½||Ax - b||², Z = B(0, radius).

    x0 defaults to a seeded random unit vector (the paper's choice). References f*, g*, x* come from the
    pseudo-inverse (the minimum-norm least-squares solution) when it lies in Z.
    """
    b = np.asarray(b, dtype=float).ravel()
    A = _check_matrix("A", A, rows=b.shape[0])
    n = A.shape[1]
    domain = Ball.centered(n, radius)
    if x0 is None:
        # own stream: default_rng(seed) would replay the data generator's first row (x0 in A's row space)
        v = np.random.default_rng((seed, 0x5EED)).standard_normal(n)
        x0 = v / np.linalg.norm(v)
        if radius < 1:
            x0 *= radius
    L_g = _lambda_max_gram(A)

    def g_vg(x):
        r = A @ x - b
        return 0.5 * float(r @ r), A.T @ r

    x_star = np.linalg.lstsq(A.toarray() if sp.issparse(A) else A, b, rcond=None)[0]
    f_star = g_star = None
    if np.linalg.norm(x_star) <= radius:
        f_star = 0.5 * float(x_star @ x_star)
        r = A @ x_star - b
        g_star = 0.5 * float(r @ r)
    else:
        x_star = None
    return BilevelProblem(
        f=lambda x: 0.5 * float(x @ x), grad_f=lambda x: np.array(x, dtype=float, copy=True),
        g=lambda x: g_vg(x)[0], grad_g=lambda x: A.T @ (A @ x - b),
        f_value_and_grad=lambda x: (0.5 * float(x @ x), np.array(x, dtype=float, copy=True)), g_value_and_grad=g_vg,
        domain=domain, x0=x0, L_f=1.0, L_g=max(L_g, 1e-12), mu_f=1.0, f_lower=0.0, g_lower=0.0,
        f_star=f_star, g_star=g_star, x_star=x_star,
        f_sublevel=lambda c: Ball.centered(n, min(radius, float(np.sqrt(max(2.0 * c, 1e-300))))),
        name=name, info={"rows": A.shape[0], "cols": n, "radius": radius},
    )


def _logistic_terms(A, y):
    m = A.shape[0]

    def value_and_grad(x):
        z = -y * (A @ x)
        loss = float(np.mean(np.logaddexp(0.0, z)))
        s = -y * 0.5 * (1.0 + np.tanh(0.5 * z))  # -y * sigmoid(z), overflow-free
        return loss, (A.T @ s) / m

    def value(x):
        return float(np.mean(np.logaddexp(0.0, -y * (A @ x))))

    return value, value_and_grad


def logistic_bilevel(A_train, y_train, A_val, y_val, *, radius: float = 300.0, x0: Vector | None = None,
                     name: str = "logistic") -> BilevelProblem:
    """The paper's problem (12): f = mean validation logistic loss, g = mean training logistic loss over
    Z = B(0, radius); labels in {-1, +1}; x0 = 0 by default. L = λmax(AᵀA)/(4m) per level."""
    y_train = np.asarray(y_train, dtype=float).ravel()
    y_val = np.asarray(y_val, dtype=float).ravel()
    for nm, yy in (("y_train", y_train), ("y_val", y_val)):
        if not np.all(np.isin(yy, (-1.0, 1.0))):
            raise ValueError(f"invalid {nm}: labels must be -1 or +1")
    A_train = _check_matrix("A_train", A_train, rows=y_train.shape[0])
    A_val = _check_matrix("A_val", A_val, rows=y_val.shape[0])
    if A_train.shape[1] != A_val.shape[1]:
        raise ValueError(f"invalid A_val with {A_val.shape[1]} columns: must match A_train's {A_train.shape[1]}")
    n = A_train.shape[1]
    f, f_vg = _logistic_terms(A_val, y_val)
    g, g_vg = _logistic_terms(A_train, y_train)
    L_f = _lambda_max_gram(A_val) / (4 * A_val.shape[0])
    L_g = _lambda_max_gram(A_train) / (4 * A_train.shape[0])
    return BilevelProblem(
        f=f, grad_f=lambda x: f_vg(x)[1], g=g, grad_g=lambda x: g_vg(x)[1],
        f_value_and_grad=f_vg, g_value_and_grad=g_vg,
        domain=Ball.centered(n, radius), x0=np.zeros(n) if x0 is None else x0,
        L_f=max(L_f, 1e-12), L_g=max(L_g, 1e-12), f_lower=0.0, g_lower=0.0, name=name,
        info={"train_rows": A_train.shape[0], "val_rows": A_val.shape[0], "cols": n, "radius": radius,
              "family": "logistic", "data": (A_train, y_train, A_val, y_val)},
    )


def quadratic_bilevel(P_f, q_f, P_g, q_g, domain: Domain, x0: Vector, *, name: str = "quadratic") -> BilevelProblem:
    """f = ½xᵀP_f x + q_fᵀx and g = ½xᵀP_g x + q_gᵀx (P_f, P_g symmetric positive semidefinite)."""
    mats = []
    for nm, P in (("P_f", P_f), ("P_g", P_g)):
        P = np.asarray(P, dtype=float)
        if P.ndim != 2 or P.shape != (domain.dim, domain.dim):
            raise ValueError(f"invalid {nm} with shape {P.shape}: must be ({domain.dim}, {domain.dim})")
        if not np.allclose(P, P.T, atol=1e-10 * max(1.0, np.abs(P).max())):
            raise ValueError(f"invalid {nm}: must be symmetric")
        ev = np.linalg.eigvalsh(P)
        if ev[0] < -1e-9 * max(1.0, ev[-1]):
            raise ValueError(f"invalid {nm}: smallest eigenvalue {ev[0]:.3g} < 0, must be positive semidefinite")
        mats.append((P, max(ev[-1], 1e-12), max(ev[0], 0.0)))
    (Pf, Lf, muf), (Pg, Lg, mug) = mats
    qf = np.asarray(q_f, dtype=float)
    qg = np.asarray(q_g, dtype=float)
    for nm, q in (("q_f", qf), ("q_g", qg)):
        if q.shape != (domain.dim,):
            raise ValueError(f"invalid {nm} with shape {q.shape}: must be ({domain.dim},)")
    return BilevelProblem(
        f=lambda x: 0.5 * float(x @ Pf @ x) + float(qf @ x), grad_f=lambda x: Pf @ x + qf,
        g=lambda x: 0.5 * float(x @ Pg @ x) + float(qg @ x), grad_g=lambda x: Pg @ x + qg,
        domain=domain, x0=x0, L_f=Lf, L_g=Lg, mu_f=muf, mu_g=mug, name=name,
        info={"family": "quadratic", "data": (Pf, qf, Pg, qg)},
    )


# ------------------------------------------------------------------------------------ hardness instances


def _chain_matrix(q: int) -> sp.csr_matrix:
    """Tridiagonal matrix of x1² + Σ(x_i - x_{i+1})² + x_q² (Nesterov's worst-case chain)."""
    main = np.full(q, 2.0)
    off = np.full(q - 1, -1.0)
    return sp.diags([off, main, off], [-1, 0, 1], format="csr")


def hard_smooth_instance(T: int) -> BilevelProblem:
    """Theorem 4.1's smooth (1,1) instance with q = 2T coordinates and x0 = 0.

    f = ½ Σ_{j>T} x_j², g = h_{q,1,1/√q}(x) = ¼(½ xᵀMx - R x_1) with Nesterov's chain M. A zero-respecting
    method's k-th query has x_j = 0 for j > k, so f(x_k) = 0 for k <= T while f* = (T+1)/(24(2T+1)).
    """
    T = int(T)
    if T < 1:
        raise ValueError(f"invalid T={T}: must be an integer >= 1")
    q = 2 * T
    R = 1.0 / np.sqrt(q)
    M = _chain_matrix(q)
    e1 = np.zeros(q)
    e1[0] = 1.0
    mask = np.zeros(q)
    mask[T:] = 1.0
    x_star = R * (1.0 - np.arange(1, q + 1) / (q + 1))

    def g(x):
        return 0.25 * (0.5 * float(x @ (M @ x)) - R * x[0])

    def grad_g(x):
        return 0.25 * (M @ x - R * e1)

    return BilevelProblem(
        f=lambda x: 0.5 * float(np.sum((x * mask) ** 2)), grad_f=lambda x: x * mask, g=g, grad_g=grad_g,
        domain=Ball.centered(q, 1.0), x0=np.zeros(q), L_f=1.0, L_g=1.0, f_lower=0.0,
        f_star=0.5 * float(np.sum((x_star * mask) ** 2)), g_star=g(x_star), x_star=x_star,
        name=f"hard-smooth-T{T}", info={"T": T},
    )


def hard_lipschitz_instance(T: int) -> BilevelProblem:
    """Theorem 4.2's Lipschitz (1,1) instance with q = 2T and x0 = 0, with a resisting subgradient oracle.

    g = r_{q,1,1}(x) = (√q/(1+√q)) max_j x_j + (1/(2(1+√q)))||x||²; its subgradient uses e_{j*} with j* the
    smallest maximising index, so zero-respecting methods uncover one coordinate per query.
    x* = -(1/√q)·1 and f* = 1/4.
    """
    T = int(T)
    if T < 1:
        raise ValueError(f"invalid T={T}: must be an integer >= 1")
    q = 2 * T
    sq = np.sqrt(q)
    a, c = sq / (1 + sq), 1.0 / (2 * (1 + sq))
    mask = np.zeros(q)
    mask[T:] = 1.0
    x_star = -np.ones(q) / sq

    def g(x):
        return a * float(np.max(x)) + c * float(x @ x)

    def grad_g(x):
        e = np.zeros(q)
        e[int(np.argmax(x))] = 1.0  # argmax returns the smallest maximising index: the resisting oracle
        return a * e + 2 * c * x

    return BilevelProblem(
        f=lambda x: 0.5 * float(np.sum((x * mask) ** 2)), grad_f=lambda x: x * mask, g=g, grad_g=grad_g,
        domain=Ball.centered(q, 1.0), x0=np.zeros(q), L_f=1.0, C_f=1.0, C_g=1.0, f_lower=0.0, mu_g=2 * c,
        f_star=0.5 * float(np.sum((x_star * mask) ** 2)), g_star=g(x_star), x_star=x_star,
        smooth=False, name=f"hard-lipschitz-T{T}", info={"T": T},
    )


from . import data as _data  # noqa: E402,F401  (registers the synthetic generators with quartet.common.data)
