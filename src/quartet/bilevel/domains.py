"""The constraint set Z of a simple bilevel problem: a Euclidean ball, a box, or all of R^n.

Every domain offers what the methods need and nothing else:

- ``project(z)``: Euclidean projection onto Z.
- ``project_hyperplane(z, w, b)``: projection onto Z ∩ {x : <w, x> + b = 0}, or ``None`` when that set is
  empty (FC-BiO's third candidate, Prop. 5.2 of the paper).
- ``project_halfspace(z, a, beta)``: projection onto Z ∩ {x : <a, x> <= beta} (AGM-BiO's cutting plane).
- ``lmo(c)`` and ``lmo_halfspace(c, a, beta)``: linear minimisation oracles (CG-BiO, Frank-Wolfe).
- ``model_min(y, V, m)``: min over x in Z of <v, x - y> + (m/2)||x - y||^2 for a batch of (v, m); this gives
  the Lagrangian lower bounds that certify bisection steps and the g-hat stage.
- ``diameter``: D = sup ||x - y|| over Z (infinite for R^n).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg.blas import ddot
from scipy.optimize import linprog

__all__ = ["Domain", "Ball", "Box", "Rn", "PairGrid"]

# Inner product of two 1-D float64 vectors as a Python float. BLAS ddot called directly costs ~0.2 us against
# ~1.4 us for float(a @ b) (numpy's dispatch, not the arithmetic, dominates at n ~ 1000), with the same result;
# FC-BiO's inner loop takes ~10 of them per iteration (see Ball.model_min_pair and fcbio's ball step).
dot = ddot

_BISECTION_STEPS = 100


class PairGrid:
    """The λ-only terms of ``Ball.model_min_pair`` for a grid (λ_i, m_i): FC-BiO evaluates the same ~300-point
    grid in every lower-bound check, so these five array passes are done once, not per check. The expressions
    are the ones ``model_min_pair`` would evaluate, so results are bit-for-bit the same."""

    __slots__ = ("lam", "m", "mu", "two_mu", "mu_mu", "neg2m", "mpos")

    def __init__(self, lam, m):
        self.lam = np.array(lam, dtype=float)
        self.m = np.array(np.broadcast_to(np.asarray(m, dtype=float), self.lam.shape))
        self.mu = 1 - self.lam
        self.two_mu = 2 * self.mu
        self.mu_mu = self.mu * self.mu
        self.neg2m = -2 * self.m
        self.mpos = self.m > 0


def _as_vector(name: str, value, dim: int | None = None) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"invalid {name} with shape {arr.shape}: must be a 1-D vector")
    if dim is not None and arr.shape[0] != dim:
        raise ValueError(f"invalid {name} of length {arr.shape[0]}: must have length {dim}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"invalid {name}: entries must be finite")
    return arr


class Domain(ABC):
    """A closed convex set Z in R^dim."""

    dim: int

    @property
    @abstractmethod
    def diameter(self) -> float: ...

    @property
    def bounded(self) -> bool:
        return bool(np.isfinite(self.diameter))

    @abstractmethod
    def project(self, z: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def contains(self, x: np.ndarray, tol: float = 1e-9) -> bool: ...

    @abstractmethod
    def lmo(self, c: np.ndarray) -> np.ndarray:
        """argmin over s in Z of <c, s>."""

    @abstractmethod
    def model_min(self, y: np.ndarray, V: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Row-wise min over x in Z of <V[i], x - y> + (m[i]/2)||x - y||^2 (m[i] >= 0)."""

    def model_min_pair(self, y: np.ndarray, p: np.ndarray, q: np.ndarray, lam: np.ndarray, m: np.ndarray) -> np.ndarray:
        """``model_min`` for v = λp + (1-λ)q over a vector of λ (one m per λ).

        Balls and R^n override this with a formula in six inner products, so a dense λ search costs O(n) once.
        """
        lam = np.asarray(lam, dtype=float)
        return self.model_min(y, lam[:, None] * p + (1 - lam)[:, None] * q, m)

    @abstractmethod
    def _support_interval(self, w: np.ndarray) -> tuple[float, float]:
        """(min, max) of <w, x> over Z."""

    def project_hyperplane(self, z: np.ndarray, w: np.ndarray, b: float) -> np.ndarray | None:
        """Projection onto Z ∩ {<w, x> + b = 0}; None when the intersection is empty.

        Generic dual bisection: x(mu) = P_Z(z - mu w) and phi(mu) = <w, x(mu)> + b is non-increasing in mu,
        so the multiplier mu* with phi(mu*) = 0 is found by bracketing and bisection.
        """
        lo, hi = self._support_interval(w)
        if not (lo <= -b <= hi):
            return None

        def phi(mu: float) -> float:
            return float(w @ self.project(z - mu * w)) + b

        phi0 = phi(0.0)
        if phi0 == 0.0:
            return self.project(z)
        step = 1.0 / max(float(w @ w), 1e-300)
        a_mu, b_mu = (0.0, step) if phi0 > 0 else (-step, 0.0)
        for _ in range(200):  # double until the root is bracketed
            if phi0 > 0 and phi(b_mu) > 0:
                a_mu, b_mu = b_mu, 2 * b_mu
            elif phi0 < 0 and phi(a_mu) < 0:
                a_mu, b_mu = 2 * a_mu, a_mu
            else:
                break
        for _ in range(_BISECTION_STEPS):
            mid = 0.5 * (a_mu + b_mu)
            if phi(mid) > 0:
                a_mu = mid
            else:
                b_mu = mid
            if b_mu - a_mu <= 1e-15 * max(1.0, abs(mid)):
                break
        return self.project(z - 0.5 * (a_mu + b_mu) * w)

    def project_halfspace(self, z: np.ndarray, a: np.ndarray, beta: float) -> np.ndarray | None:
        """Projection onto Z ∩ {<a, x> <= beta}; None when empty.

        If P_Z(z) satisfies the cut it is the answer; otherwise the cut is active at the solution, so the
        answer is the projection onto Z ∩ {<a, x> = beta}.
        """
        p = self.project(z)
        if float(a @ p) <= beta:
            return p
        return self.project_hyperplane(z, a, -beta)

    def lmo_halfspace(self, c: np.ndarray, a: np.ndarray, beta: float) -> np.ndarray:
        """argmin over s in Z ∩ {<a, s> <= beta} of <c, s> (a linear program in general)."""
        raise NotImplementedError(f"{type(self).__name__} has no linear minimisation oracle over a halfspace")


@dataclass(eq=False)
class Ball(Domain):
    """Euclidean ball B(center, radius)."""

    center: np.ndarray
    radius: float
    dim: int = field(init=False)

    def __post_init__(self) -> None:
        self.center = _as_vector("center", self.center)
        if not (np.isfinite(self.radius) and self.radius > 0):
            raise ValueError(f"invalid radius={self.radius!r}: must be a finite number > 0")
        self.radius = float(self.radius)
        self.dim = self.center.shape[0]

    @classmethod
    def centered(cls, dim: int, radius: float) -> "Ball":
        if int(dim) < 1:
            raise ValueError(f"invalid dim={dim!r}: must be an integer >= 1")
        return cls(np.zeros(int(dim)), radius)

    @property
    def diameter(self) -> float:
        return 2.0 * self.radius

    def project(self, z: np.ndarray) -> np.ndarray:
        d = z - self.center
        dd = float(d @ d)
        if dd <= self.radius * self.radius:
            return np.array(z, dtype=float, copy=True)
        return self.center + d * (self.radius / np.sqrt(dd))

    def contains(self, x: np.ndarray, tol: float = 1e-9) -> bool:
        d = x - self.center
        return self.contains_sq(dot(d, d), tol)

    def contains_sq(self, dd: float, tol: float = 1e-9) -> bool:
        """``contains(x)`` from dd = ||x - center||² (FC-BiO's step computes it anyway)."""
        return math.sqrt(dd) <= self.radius * (1 + tol) + tol

    def lmo(self, c: np.ndarray) -> np.ndarray:
        nc = float(np.linalg.norm(c))
        if nc == 0.0:
            return self.center.copy()
        return self.center - (self.radius / nc) * c

    def _support_interval(self, w: np.ndarray) -> tuple[float, float]:
        wc, r = float(w @ self.center), self.radius * float(np.linalg.norm(w))
        return wc - r, wc + r

    def project_hyperplane(self, z: np.ndarray, w: np.ndarray, b: float) -> np.ndarray | None:
        # Closed form: project z and the centre onto H, then project onto the disc B ∩ H (centre c_H, radius
        # r). With e = z - c, the offset z_H - c_H is e minus its w-component, so its norm follows from inner
        # products: FC-BiO calls this in nearly every inner iteration, where array passes cost more than flops.
        ww = float(w @ w)
        if ww == 0.0:
            return None
        wc = float(w @ self.center)
        dist_c = (wc + b) / ww  # signed offset of the centre, in units of w
        r2 = self.radius**2 - dist_c * dist_c * ww
        if r2 < 0.0:
            return None
        e = z - self.center
        we = float(w @ e)
        nd2 = max(float(e @ e) - we * we / ww, 0.0)  # ||z_H - c_H||²
        r = math.sqrt(r2)
        if nd2 <= r2:
            return z - ((we + wc + b) / ww) * w  # z_H
        s = r / math.sqrt(nd2)  # c_H + s (z_H - c_H) = c + s e - (dist_c + s <w, e>/||w||²) w
        out = self.center + s * e
        out -= (dist_c + s * we / ww) * w
        return out

    def lmo_halfspace(self, c: np.ndarray, a: np.ndarray, beta: float) -> np.ndarray:
        # Shift to the centre: s = center + u, ||u|| <= R, <a, u> <= beta - <a, center>.
        beta_u = beta - float(a @ self.center)
        s0 = self.lmo(c)
        if float(a @ s0) <= beta + 1e-12 * max(1.0, abs(beta)):
            return s0
        aa = float(a @ a)
        if aa == 0.0:  # infeasible cut 0 <= beta < 0: caller's problem, return the plain LMO
            return s0
        r2 = self.radius**2 - beta_u**2 / aa
        if r2 < 0.0:  # the halfspace misses the ball except on its boundary side: closest point
            return self.center + (beta_u / aa) * a if beta_u >= 0 else self.center - (self.radius / np.sqrt(aa)) * a
        c_perp = c - (float(c @ a) / aa) * a
        n_perp = float(np.linalg.norm(c_perp))
        base = self.center + (beta_u / aa) * a
        if n_perp == 0.0:
            return base
        return base - np.sqrt(r2) * c_perp / n_perp

    def model_min_pair(self, y, p, q, lam, m):
        # With x = center + u and W = m·d - v (d = y - center), the objective is
        # (m/2)||u||² - <W, u> + (m/2)||d||² - <v, d>. Its minimiser over ||u|| <= R is W/m when ||W|| <= m·R
        # (value -||v||²/(2m)), else R·W/||W|| (value (m/2)(R² + ||d||²) - <v, d> - R||W||). ||W||² is a
        # polynomial in λ of six inner products, so the whole λ grid costs O(n) once; FC-BiO calls this in its
        # inner loop on ~300 λ values, where numpy's per-call overhead, not arithmetic, is the cost, hence the
        # closed forms with few array operations. ||W||² = m²||d||² - 2m<v, d> + ||v||² does not cancel badly on
        # the boundary branch: there ||W|| > m·R, and ||d|| is at most a few R (FC-BiO's y is a point of Z or an
        # extrapolation between two), so ||W||² stays a sizeable fraction of m²||d||².
        return self.model_min_pair_grid(y, p, q, PairGrid(lam, m))

    def model_min_pair_grid(self, y, p, q, grid: PairGrid) -> np.ndarray:
        """``model_min_pair`` on a grid whose λ-only terms are precomputed (see ``PairGrid``)."""
        d = y - self.center
        return self.model_min_pair_products(dot(p, p), dot(q, q), dot(p, q), dot(p, d), dot(q, d), dot(d, d), grid)

    def model_min_pair_products(self, pp, qq, pq, pd, qd, dd, grid: PairGrid) -> np.ndarray:
        """``model_min_pair_grid`` from the six inner products of p, q and d = y - center (FC-BiO's step
        computes most of them anyway)."""
        lam, m, mu = grid.lam, grid.m, grid.mu
        R = self.radius
        # v = λp + (1-λ)q: ||v||² and <v, d> from the six inner products (||v||² kept as a weighted sum of
        # pp, pq, qq rather than a polynomial in λ, whose coefficient pp - 2pq + qq can cancel)
        vv = np.maximum(lam * (lam * pp + grid.two_mu * pq) + grid.mu_mu * qq, 0.0)
        vd = lam * pd + mu * qd
        nw = np.sqrt(np.maximum(m * (m * dd - 2 * vd) + vv, 0.0))  # ||m d - v||
        out = m * (0.5 * (R * R + dd)) - vd - R * nw  # boundary branch
        inside = (nw <= m * R) & grid.mpos
        # interior branch -||v||²/(2m), written over the boundary values only where it applies: dividing only
        # there needs no errstate guard for m = 0 (a context manager costs as much as three array passes here)
        np.divide(vv, grid.neg2m, out=out, where=inside)
        return out

    def model_min_pair_point(self, pp, qq, pq, pd, qd, dd, lam: float, m: float) -> float:
        """``model_min_pair_products`` at one (λ, m) in Python floats: the same IEEE operations in the same
        order, so the value that point would get in a grid, at a tenth of an array pass's cost."""
        R, mu = self.radius, 1 - lam
        vv = max(lam * (lam * pp + (2 * mu) * pq) + (mu * mu) * qq, 0.0)
        vd = lam * pd + mu * qd
        nw = math.sqrt(max(m * (m * dd - 2 * vd) + vv, 0.0))
        if nw <= m * R and m > 0:
            return vv / (-2 * m)
        return m * (0.5 * (R * R + dd)) - vd - R * nw

    def model_min(self, y: np.ndarray, V: np.ndarray, m: np.ndarray) -> np.ndarray:
        V = np.atleast_2d(V)
        m = np.broadcast_to(np.asarray(m, dtype=float), (V.shape[0],))
        d = y - self.center  # x = center + u, ||u|| <= R; minimise <v, u - d> + m/2 ||u - d||^2
        W = m[:, None] * d[None, :] - V  # the unconstrained minimiser is W/m
        nw = np.linalg.norm(W, axis=1)
        inside = (nw <= m * self.radius) & (m > 0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            U = np.where(inside[:, None], W / np.where(m > 0, m, 1.0)[:, None],
                         self.radius * W / np.where(nw > 0, nw, 1.0)[:, None])
        diff = U - d[None, :]
        return np.einsum("ij,ij->i", V, diff) + 0.5 * m * np.einsum("ij,ij->i", diff, diff)


@dataclass(eq=False)
class Box(Domain):
    """Axis-aligned box {lower <= x <= upper} (bounds may be arrays or scalars broadcast to dim)."""

    lower: np.ndarray
    upper: np.ndarray
    dim: int = -1

    def __post_init__(self) -> None:
        lo = np.asarray(self.lower, dtype=float)
        hi = np.asarray(self.upper, dtype=float)
        if self.dim == -1:
            shapes = [a.shape[0] for a in (lo, hi) if a.ndim == 1]
            if not shapes:
                raise ValueError("invalid Box: give dim when both bounds are scalars")
            self.dim = shapes[0]
        self.lower = np.broadcast_to(lo, (self.dim,)).astype(float)
        self.upper = np.broadcast_to(hi, (self.dim,)).astype(float)
        if not (np.all(np.isfinite(self.lower)) and np.all(np.isfinite(self.upper))):
            raise ValueError("invalid Box bounds: must be finite (use Rn for an unconstrained problem)")
        if np.any(self.lower > self.upper):
            i = int(np.argmax(self.lower > self.upper))
            raise ValueError(f"invalid Box: lower[{i}]={self.lower[i]} > upper[{i}]={self.upper[i]}: "
                             "need lower <= upper")

    @property
    def diameter(self) -> float:
        return float(np.linalg.norm(self.upper - self.lower))

    def project(self, z: np.ndarray) -> np.ndarray:
        return np.clip(z, self.lower, self.upper)

    def contains(self, x: np.ndarray, tol: float = 1e-9) -> bool:
        return bool(np.all(x >= self.lower - tol) and np.all(x <= self.upper + tol))

    def lmo(self, c: np.ndarray) -> np.ndarray:
        return np.where(c > 0, self.lower, self.upper)

    def _support_interval(self, w: np.ndarray) -> tuple[float, float]:
        lo = float(np.sum(np.minimum(w * self.lower, w * self.upper)))
        hi = float(np.sum(np.maximum(w * self.lower, w * self.upper)))
        return lo, hi

    def lmo_halfspace(self, c: np.ndarray, a: np.ndarray, beta: float) -> np.ndarray:
        s0 = self.lmo(c)
        if float(a @ s0) <= beta:
            return s0
        res = linprog(c, A_ub=a[None, :], b_ub=[beta], bounds=np.column_stack([self.lower, self.upper]), method="highs")
        return res.x if res.status == 0 else s0

    def model_min(self, y: np.ndarray, V: np.ndarray, m: np.ndarray) -> np.ndarray:
        V = np.atleast_2d(V)
        m = np.broadcast_to(np.asarray(m, dtype=float), (V.shape[0],))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            unconstrained = np.where(m[:, None] > 0, y[None, :] - V / np.where(m > 0, m, 1.0)[:, None], 0.0)
        corner = np.where(V > 0, self.lower[None, :], self.upper[None, :])
        X = np.where(m[:, None] > 0, np.clip(unconstrained, self.lower, self.upper), corner)
        diff = X - y[None, :]
        return np.einsum("ij,ij->i", V, diff) + 0.5 * m * np.einsum("ij,ij->i", diff, diff)


@dataclass(eq=False)
class Rn(Domain):
    """All of R^dim (unconstrained); projection is the identity and the diameter is infinite."""

    dim: int

    def __post_init__(self) -> None:
        if int(self.dim) < 1:
            raise ValueError(f"invalid dim={self.dim!r}: must be an integer >= 1")
        self.dim = int(self.dim)

    @property
    def diameter(self) -> float:
        return float("inf")

    def project(self, z: np.ndarray) -> np.ndarray:
        return np.array(z, dtype=float, copy=True)

    def contains(self, x: np.ndarray, tol: float = 1e-9) -> bool:
        return bool(np.all(np.isfinite(x)))

    def lmo(self, c: np.ndarray) -> np.ndarray:
        raise ValueError("invalid domain=Rn for a linear minimisation oracle: needs a bounded domain (Ball or Box)")

    def _support_interval(self, w: np.ndarray) -> tuple[float, float]:
        return (-np.inf, np.inf) if np.any(w != 0) else (0.0, 0.0)

    def project_hyperplane(self, z: np.ndarray, w: np.ndarray, b: float) -> np.ndarray | None:
        ww = float(w @ w)
        if ww == 0.0:
            return None if b != 0 else z.copy()
        return z - ((float(w @ z) + b) / ww) * w

    def model_min_pair(self, y, p, q, lam, m):
        lam = np.asarray(lam, dtype=float)
        m = np.broadcast_to(np.asarray(m, dtype=float), lam.shape)
        mu = 1 - lam
        vv = np.maximum(lam * lam * float(p @ p) + 2 * lam * mu * float(p @ q) + mu * mu * float(q @ q), 0.0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.where(m > 0, -vv / (2 * np.where(m > 0, m, 1.0)), np.where(vv == 0, 0.0, -np.inf))

    def model_min(self, y: np.ndarray, V: np.ndarray, m: np.ndarray) -> np.ndarray:
        V = np.atleast_2d(V)
        m = np.broadcast_to(np.asarray(m, dtype=float), (V.shape[0],))
        vv = np.einsum("ij,ij->i", V, V)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.where(m > 0, -vv / (2 * np.where(m > 0, m, 1.0)), np.where(vv == 0, 0.0, -np.inf))
