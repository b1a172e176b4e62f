"""FC-BiO: the functionally constrained bilevel method (Zhang, Chen, Xu, Zhang, NeurIPS 2024).

Read top to bottom:

1. g-hat stage (Lemma 5.1): a certified g-hat with g* <= g-hat <= g* + eps_g/2 (restarted FISTA, ``ghat.py``).
2. Relax: g~(x) = (eps_f/eps_g)(g(x) - g-hat) (Cor. 5.1 scales g so both levels share eps = eps_f).
3. Bisection (Alg. 1) on t over psi*(t) = min_Z max{f(x) - t, g~(x)}, whose smallest root is f-hat* <= f*:
   t goes to the upper end u when an inner point has psi(t, x) <= eps/2, to the lower end l when t < f-hat*.
4. Inner solvers: Nesterov's generalized AGM with the three-candidate gradient-mapping step (Alg. 3, smooth)
   or the projected subgradient method with averaging (Alg. 2, Lipschitz).

**Extension, not in the paper (``certify_lower=True``).** The paper's practical variant decides "t < f-hat*"
only when the inner cap is reached (psi-hat > eps/2), so every such step costs the whole cap and dominates the
run time. Here each inner step also keeps a certified lower bound on psi*(t) from Lagrangian duality:
psi*(t) >= max_{λ∈[0,1]} min_Z λ(f - t) + (1-λ)g~
        >= λ(f(y)-t) + (1-λ)g~(y) + min_Z <λ∇f(y) + (1-λ)∇g~(y), x-y>  (+ the strong-convexity quadratic),
or, for the subgradient method, the average of the active pieces' linearisations. As soon as that bound is
> 0, t < f-hat* is *proved* and the step ends with l = t. The max over λ (concave, sharply peaked) is
found by tangent cuts from the last check's maximiser, with a fixed λ grid as the fallback; the cuts also
prove most failing checks cheaply. Lemma 5.3 only uses "l <= f-hat*" and
"psi(u, x_u) <= eps/2", so the guarantee f(x) <= f-hat* + eps_f,
g(x) <= g* + eps_g is unchanged; the bound converges to psi*(t), so every step ends long before the cap.
For the same reason the bracket is tightened with what each step proves: after a "lower" step with bound
b > 0, l = t + b (psi* is 1-Lipschitz); after an "upper" step at x, u = f(x) - eps/2 (still psi(u, x) <= eps/2),
and the bisection stops as soon as u - l <= eps/2 (at most the paper's N steps).
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np

from .domains import Ball, PairGrid, dot
from .ghat import certified_minimize, certified_subgradient_minimize
from .oracle import CountingOracle
from .problems import BilevelProblem
from .result import MethodOutput

__all__ = ["fc_bio", "fc_bio_lip", "hoelder_eps_g", "ghat_stage", "gradient_mapping_step", "psi_lower_bound"]

_GRID_RATIO = 10 ** 0.1  # 10 points per decade near both ends of [0, 1]
_LAMBDA_GRID = np.unique(np.concatenate([[0.0, 1.0], np.logspace(-14, 0, 141), 1 - np.logspace(-14, -0.3, 138),
                                         np.linspace(0, 1, 21)]))
_ZOOM_STEPS = np.arange(65) * 1.0  # np.linspace(lo, hi, 65) is arange(65) * ((hi - lo)/64) + lo, last = hi
_ROUNDING = 1e-13  # a certified bound must clear floating-point noise before it proves t < f-hat*


def hoelder_eps_g(eps_f: float, eps_g: float, M: float, alpha: float, beta: float) -> float:
    """eps_g' = min{eps_g, (eps_f/M)^α · β/α} (Appendix D): with a Hölderian error bound
    (β/α)·dist(x, X_g*)^α <= g(x) - g* and M = max over X_g* of ||∇f||, running FC-BiO with eps_g' returns
    an *absolutely* (eps_f, eps_g)-optimal point."""
    for name, v in (("eps_f", eps_f), ("eps_g", eps_g), ("M", M), ("alpha", alpha), ("beta", beta)):
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"invalid {name}={v!r}: must be a finite number > 0")
    if alpha < 1:
        raise ValueError(f"invalid alpha={alpha!r}: a Hölderian error bound needs alpha >= 1")
    return min(eps_g, (eps_f / M) ** alpha * beta / alpha)


def ghat_stage(problem: BilevelProblem, oracle: CountingOracle, eps_g: float, *, max_iter: int = 15000,
               check_every: int = 10):
    """Certified g-hat: restarted FISTA on g over Z (the subgradient method when g is only Lipschitz) until
    g(x_g) - g* <= eps_g/2 is proved."""

    def on_iteration(x):
        oracle.iterations += 1
        oracle.record(x, "ghat")
        return oracle.exhausted()

    if not problem.smooth:
        _, C_g = problem.lipschitz()
        return certified_subgradient_minimize(oracle.g, oracle.grad_g, problem.domain, problem.x0, C_g, eps_g / 2,
                                              known_lower=problem.g_lower, max_iter=max_iter,
                                              check_every=check_every, on_iteration=on_iteration)
    _, L_g = problem.smoothness()
    return certified_minimize(oracle.g_vg, oracle.g, problem.domain, problem.x0, L_g, eps_g / 2, mu=problem.mu_g,
                              known_lower=problem.g_lower, max_iter=max_iter, check_every=check_every,
                              on_iteration=on_iteration)


def _lower_bound_f(problem: BilevelProblem, oracle: CountingOracle, max_iter: int) -> float:
    """A valid lower bound on min_Z f (the paper's l = p-hat* - eps/2) when the problem gives none."""
    if problem.f_lower is not None:
        return float(problem.f_lower)
    if not problem.smooth:
        C_f, _ = problem.lipschitz()
        res = certified_subgradient_minimize(oracle.f, oracle.grad_f, problem.domain, problem.x0, C_f, 0.0,
                                             max_iter=max_iter)
        return float(res.lower)
    L_f, _ = problem.smoothness()
    res = certified_minimize(oracle.f_vg, oracle.f, problem.domain, problem.x0, L_f, 0.0, mu=problem.mu_f,
                             max_iter=max_iter, check_every=10)
    if not np.isfinite(res.lower):
        raise ValueError("invalid problem for fc-bio: no lower bound on f over Z; give f_lower or a bounded domain")
    return float(res.lower)


def lambda_grid(mu_f: float, mu_gt: float) -> PairGrid:
    """The check grid λ_i with m_i = μ_g~ + λ_i(μ_f - μ_g~), precomputed once per bisection step for
    ``psi_lower_bound(..., grid=)`` on a ball."""
    return PairGrid(_LAMBDA_GRID, mu_gt + _LAMBDA_GRID * (mu_f - mu_gt))


def psi_lower_bound(domain, y, f_minus_t, gt, df, dgt, mu_f, mu_gt, refine_above: float | None = None,
                    grid: PairGrid | None = None) -> float:
    """max over λ in [0,1] of the Lagrangian bound
    λ(f(y)-t) + (1-λ)g~(y) + min_Z <λ∇f + (1-λ)∇g~, x-y> + ((λμ_f + (1-λ)μ_g~)/2)||x-y||² <= psi*(t).

    The bound is concave in λ and its maximiser λ* (the KKT weight of f) is often tiny (~1e-3 on min-norm),
    so: a dense log-spaced grid near both ends plus the closed-form maximiser of the interior case (μ_g~ = 0),
    then one zoom on the best bracket. Balls and R^n evaluate the whole grid from six inner products.

    On a ball, tangent cuts come first (``_ball_psi_lower_bound``): they find the sharp peak the grid can miss
    and, for most checks, prove cheaply that no λ clears ``refine_above``.

    Every λ gives a valid bound, so the zoom only sharpens it. With ``refine_above`` given, the zoom runs only
    when the bound already exceeds it: a caller asking "is the bound > level?" passes the level, and a bound
    that clears it is still sharpened, since the bisection moves l up by it; a bound that cannot clear it is
    returned unsharpened (the best λ seen). None: always zoom.

    ``grid``: a ``lambda_grid(mu_f, mu_gt)`` the caller reuses across checks (Ball only).
    """
    if isinstance(domain, Ball):
        ey = y - domain.center
        return _ball_psi_lower_bound(domain, y, f_minus_t, gt, df, dgt, mu_f, mu_gt, refine_above,
                                     lambda_grid(mu_f, mu_gt) if grid is None else grid,
                                     _BallProducts.of(ey, dot(ey, ey), df, dgt))
    extra = None
    if mu_f > 0 and mu_gt == 0:
        w = df - dgt
        extra = _closed_form_lambda(mu_f, f_minus_t, gt, dot(w, w), dot(dgt, dgt))
    lam = _LAMBDA_GRID if extra is None else np.append(_LAMBDA_GRID, extra)
    v = gt + lam * (f_minus_t - gt) + domain.model_min_pair(y, df, dgt, lam, mu_gt + lam * (mu_f - mu_gt))
    i = int(np.argmax(v))
    return _zoom(domain, y, f_minus_t, gt, df, dgt, mu_f, mu_gt, refine_above, float(v[i]), float(lam[i]))


def _closed_form_lambda(mu_f, f_minus_t, gt, ww: float, qq: float) -> float | None:
    """For μ_g~ = 0 < μ_f: the maximiser of b + λ(a-b) - ||q + λr||²/(2λμ_f) (the unconstrained model
    minimum), from ww = ||∇f - ∇g~||² and qq = ||∇g~||²; None when the model has no interior maximiser."""
    den = ww - 2 * mu_f * (f_minus_t - gt)
    return min(1.0, math.sqrt(qq / den)) if den > 0 else None


def _zoom(domain, y, f_minus_t, gt, df, dgt, mu_f, mu_gt, refine_above, best: float, lam_best: float) -> float:
    """One zoom on the bracket around the grid maximiser (the bound is concave in λ), unless the grid bound
    does not clear ``refine_above``."""
    if refine_above is not None and best <= refine_above:
        return best
    lo = lam_best / _GRID_RATIO if lam_best <= 0.5 else 1 - (1 - lam_best) * _GRID_RATIO
    hi = lam_best * _GRID_RATIO if lam_best <= 0.5 else 1 - (1 - lam_best) / _GRID_RATIO
    lo, hi = max(lo, 0.0), min(hi, 1.0)
    if hi > lo:
        zoom = _ZOOM_STEPS * ((hi - lo) / 64)  # = np.linspace(lo, hi, 65) bit for bit, at a tenth of its cost
        zoom += lo
        zoom[-1] = hi
        mz = mu_gt + zoom * (mu_f - mu_gt)
        best = max(best, float((gt + zoom * (f_minus_t - gt) + domain.model_min_pair(y, df, dgt, zoom, mz)).max()))
    return best


class _BallProducts(NamedTuple):
    """Inner products of one FC-BiO iterate on a ball, shared by the lower-bound check and the gradient-mapping
    step (ey = y - c, w = ∇f - ∇g~)."""

    ey: np.ndarray
    ey_ey: float
    w: np.ndarray
    ww: float
    df_df: float
    dg_dg: float
    ey_df: float
    ey_dg: float

    @classmethod
    def of(cls, ey, ey_ey, df, dgt) -> "_BallProducts":
        w = df - dgt
        return cls(ey, ey_ey, w, dot(w, w), dot(df, df), dot(dgt, dgt), dot(ey, df), dot(ey, dgt))


def _ball_psi_lower_bound(ball: Ball, y, f_minus_t, gt, df, dgt, mu_f, mu_gt, refine_above, grid: PairGrid,
                          ip: _BallProducts, hint: list[float] | None = None) -> float:
    """``psi_lower_bound`` on a ball from shared inner products.

    The Lagrangian φ(λ) is concave but sharply peaked (on min-norm at λ* ~ 1e-3, the grid's 10 points per
    decade can miss the peak by 1e-5 when the peak itself is > 0), so the search starts with tangent cuts
    from the hint (the last check's maximiser): a few scalar evaluations that either find a λ whose bound
    clears ``refine_above``, or prove that none can (most checks), or neither, and only then the grid and the
    closed-form λ are evaluated. ``hint``: a one-element list, updated in place with the best λ."""
    pq = dot(df, dgt)
    products = (ip.df_df, ip.dg_dg, pq, ip.ey_df, ip.ey_dg, ip.ey_ey)
    extra = _closed_form_lambda(mu_f, f_minus_t, gt, ip.ww, ip.dg_dg) if mu_f > 0 and mu_gt == 0 else None
    start = hint[0] if hint is not None else (0.5 if extra is None else extra)
    level = -math.inf if refine_above is None else refine_above
    lam_best, proved_below = _tangent_search(ball, products, f_minus_t, gt, mu_f, mu_gt, level, start)
    best = _phi(ball, products, f_minus_t, gt, mu_f, mu_gt, lam_best)  # the grid's formula, as trusted as it
    if refine_above is None or (not proved_below and best <= level):
        v = gt + grid.lam * (f_minus_t - gt) + ball.model_min_pair_products(*products, grid)
        i = int(np.argmax(v))
        if v[i] > best:
            best, lam_best = float(v[i]), float(grid.lam[i])
        if extra is not None:
            ve = _phi(ball, products, f_minus_t, gt, mu_f, mu_gt, extra)
            if ve > best:
                best, lam_best = ve, extra
    if hint is not None:
        hint[0] = lam_best
    return _zoom(ball, y, f_minus_t, gt, df, dgt, mu_f, mu_gt, refine_above, best, lam_best)


def _phi(ball: Ball, products, f_t, gt, mu_f, mu_gt, lam: float) -> float:
    """The Lagrangian bound at one λ, with the grid's formula (``Ball.model_min_pair_point``)."""
    return gt + lam * (f_t - gt) + ball.model_min_pair_point(*products, lam, mu_gt + lam * (mu_f - mu_gt))


_CUTS = 6              # tangent cuts per check before falling back to the grid
_CUT_MARGIN = 1e-9     # relative safety margin of a cut's proof against rounding


def _tangent(ball: Ball, products, f_t, gt, mu_f, mu_gt, lam) -> tuple[float, float, float]:
    """The Lagrangian L(x, λ') = λ'(f-model(x)) + (1-λ')(g~-model(x)) at λ' = 0 and 1 for the fixed point
    x = argmin_Z L(., λ), plus the size of the terms (for a rounding margin). Any fixed x in Z makes
    λ' -> L(x, λ') an affine majorant of φ = min_Z L, touching it at λ' = λ: a tangent cut of the concave φ."""
    pp, qq, pq, pd, qd, dd = products
    R, mu = ball.radius, 1 - lam
    m = mu_gt + lam * (mu_f - mu_gt)
    vp, vq = lam * pp + mu * pq, lam * pq + mu * qq  # <v, ∇f>, <v, ∇g~> for v = λ∇f + (1-λ)∇g~
    vv, vd = max(lam * vp + mu * vq, 0.0), lam * pd + mu * qd
    nw = math.sqrt(max(m * (m * dd - 2 * vd) + vv, 0.0))  # ||m d - v||, d = y - c
    if m > 0 and nw <= m * R:  # interior minimiser: x - y = -v/m
        ep, eq, ee = -vp / m, -vq / m, vv / (m * m)
        size = (abs(vp) + abs(vq)) / m + ee
    elif nw > 0:  # on the sphere: x - y = α d - β v
        al, be = R * m / nw - 1, R / nw
        ep, eq = al * pd - be * vp, al * qd - be * vq
        ee = max(al * al * dd - 2 * al * be * vd + be * be * vv, 0.0)
        size = abs(al) * (abs(pd) + abs(qd)) + be * (abs(vp) + abs(vq)) + al * al * dd + be * be * vv
    else:  # m d = v: every x on the sphere is a minimiser; take the centre's direction, x - y = -d
        ep, eq, ee = -pd, -qd, dd
        size = abs(pd) + abs(qd) + dd
    return gt + eq + 0.5 * mu_gt * ee, f_t + ep + 0.5 * mu_f * ee, size * (1 + mu_f + mu_gt)


def _tangent_search(ball: Ball, products, f_t, gt, mu_f, mu_gt, level, lam) -> tuple[float, bool]:
    """At most ``_CUTS`` tangent cuts of φ: the first at the hint ``lam``, the next ones stepping towards the
    maximiser (2%, then x4 per step, then the end of [0, 1]) until a cut of each slope sign brackets it, then
    at the bracketing cuts' meeting point (Kelley's method in one variable). Stops early when a cut's φ(λ)
    clears ``level`` or the cuts prove max φ <= level (with a margin against rounding). Returns (the λ with
    the best φ seen, whether max φ <= level is proved)."""
    left = right = None  # the cut nearest the maximiser on each side: (λ, value at 0, slope)
    best, lam_best = -math.inf, lam
    scale = 1 + abs(f_t) + abs(gt)
    lam = min(max(lam, 1e-12), 1 - 1e-12)
    step = 0.02
    for i in range(_CUTS):
        at0, at1, size = _tangent(ball, products, f_t, gt, mu_f, mu_gt, lam)
        slope = at1 - at0
        phi = at0 + lam * slope
        if phi > best:
            best, lam_best = phi, lam
            if phi > level:
                return lam_best, False
        scale += size
        if slope >= 0:
            left = (lam, at0, slope)
        else:
            right = (lam, at0, slope)
        if left is not None and right is not None:  # the two cuts meet above the maximiser
            lam = min(max((right[1] - left[1]) / (left[2] - right[2]), left[0]), right[0])
            upper = left[1] + left[2] * lam
        elif right is None:  # increasing so far: the maximiser lies right of every cut
            upper = at1
            lam = 1.0 if i >= 2 else (lam * (1 + step) if lam <= 0.5 else 1 - (1 - lam) / (1 + step))
        else:
            upper = at0
            lam = 0.0 if i >= 2 else (lam / (1 + step) if lam <= 0.5 else 1 - (1 - lam) * (1 + step))
        step *= 4
        if upper + _CUT_MARGIN * scale <= level:
            return lam_best, True
    return lam_best, False


def gradient_mapping_step(domain, y, f_t, df, gt, dgt, L) -> np.ndarray:
    """argmin over x in Z of max{f_t + <df, x-y>, gt + <dgt, x-y>} + (L/2)||x-y||² (Alg. 3's step).

    Prop. 5.2: the minimiser of the max of two strictly convex functions minimises one of them or lies where
    they are equal; on H = {<df - dgt, x> + b = 0} both models coincide, so the candidates are P_Z(z_f),
    P_Z(z_g) and P_{Z∩H}(z_f), and no QP solver is needed. On a ball the candidates are tested from inner
    products and only the winner is formed (``_ball_gradient_mapping_step``).
    """
    if isinstance(domain, Ball):
        return _ball_gradient_mapping_step(domain, y, f_t, df, gt, dgt, L)
    return _generic_gradient_mapping_step(domain, y, f_t, df, gt, dgt, L)


def _generic_gradient_mapping_step(domain, y, f_t, df, gt, dgt, L) -> np.ndarray:
    w = df - dgt
    b = (f_t - gt) - float(w @ y)  # f-model minus g-model at x is <w, x> + b (the quadratic terms cancel)
    zf = y - df / L
    xf = domain.project(zf)
    if float(w @ xf) + b >= 0:  # x_f minimises the f-model and the f-model is the max there: it minimises the max
        return xf
    xg = domain.project(y - dgt / L)
    if float(w @ xg) + b <= 0:
        return xg
    # w = 0 cannot reach here with b = 0 (then x_f passed the first test), and every domain returns None for
    # the empty set {0 = -b}, b != 0
    x3 = domain.project_hyperplane(zf, w, b)
    if x3 is not None:
        return x3
    return _better_of(y, f_t, df, gt, dgt, L, xf, xg)


def _better_of(y, f_t, df, gt, dgt, L, xf, xg) -> np.ndarray:
    """The candidate with the smaller model value: unreachable in exact arithmetic (the minimiser then lies on
    H), a guard against rounding."""
    def model(c):
        d = c - y
        return max(f_t + float(df @ d), gt + float(dgt @ d)) + 0.5 * L * float(d @ d)

    return xf if model(xf) <= model(xg) else xg


def _ball_gradient_mapping_step(ball: Ball, y, f_t, df, gt, dgt, L, ip: _BallProducts | None = None) -> np.ndarray:
    """The same three-candidate step on Z = B(c, R), in the same order and with the same tests, but each test
    <w, P_Z(z)> + b uses P_Z(z) = c + s (z - c), s = min(1, R/||z - c||), so it needs only inner products of
    y - c, ∇f, ∇g~ and w = ∇f - ∇g~. In FC-BiO's inner loop the third candidate wins in ~90% of iterations;
    forming every candidate took ~20 array passes, a quarter of the bare f+g gradient cost on 400x730.
    ``ip``: those inner products when the caller has them (FC-BiO's loop shares them with its feasibility test
    and lower-bound check); inner products use BLAS ``dot``, ~7x cheaper per call than ``float(a @ b)``."""
    c, R = ball.center, ball.radius
    if ip is None:
        ey = y - c
        ip = _BallProducts.of(ey, dot(ey, ey), df, dgt)
    ey, ey_ey, w, ww, df_df, dg_dg, ey_df, ey_dg = ip
    inv_L = 1.0 / L
    wc, wy = dot(w, c), dot(w, y)
    b = (f_t - gt) - wy
    w_df, w_dg = dot(w, df), dot(w, dgt)

    # candidate 1: P_Z(z_f), z_f = y - ∇f/L, with z_f - c = ey - ∇f/L
    ef2 = max(ey_ey - 2 * inv_L * ey_df + inv_L * inv_L * df_df, 0.0)  # ||z_f - c||²
    sf = 1.0 if ef2 <= R * R else R / math.sqrt(ef2)
    w_ef = (wy - wc) - inv_L * w_df  # <w, z_f - c>
    if wc + sf * w_ef + b >= 0:
        return c + sf * (ey - inv_L * df)
    # candidate 2: P_Z(z_g)
    eg2 = max(ey_ey - 2 * inv_L * ey_dg + inv_L * inv_L * dg_dg, 0.0)
    sg = 1.0 if eg2 <= R * R else R / math.sqrt(eg2)
    w_eg = (wy - wc) - inv_L * w_dg
    if wc + sg * w_eg + b <= 0:
        return c + sg * (ey - inv_L * dgt)
    # candidate 3: P_{Z∩H}(z_f), as Ball.project_hyperplane with e = z_f - c
    if ww > 0.0:
        dist_c = (wc + b) / ww
        r2 = R * R - dist_c * dist_c * ww
        if r2 >= 0.0:
            e = ey - inv_L * df
            nd2 = max(ef2 - w_ef * w_ef / ww, 0.0)  # squared distance of z_H from the disc's centre
            if nd2 <= r2:
                e -= ((w_ef + wc + b) / ww) * w
                e += c
                return e  # z_H
            s = math.sqrt(r2 / nd2)
            out = c + s * e
            out -= (dist_c + s * w_ef / ww) * w
            return out
    return _better_of(y, f_t, df, gt, dgt, L, c + sf * (ey - inv_L * df), c + sg * (ey - inv_L * dgt))


class _Levels:
    """Shifted/scaled objectives of one bisection: f - t and g~ = s(g - g-hat), with counted oracles."""

    def __init__(self, oracle: CountingOracle, ghat: float, scale: float):
        self.oracle, self.ghat, self.scale = oracle, ghat, scale

    def vg(self, x):
        fx, df = self.oracle.f_vg(x)
        gx, dg = self.oracle.g_vg(x)
        return fx, df, self.scale * (gx - self.ghat), (dg if self.scale == 1.0 else self.scale * dg)

    def values(self, x):
        return self.oracle.f(x), self.scale * (self.oracle.g(x) - self.ghat)


def _agm_inner(prob: BilevelProblem, lev: _Levels, t: float, x_start: np.ndarray, K: int, L: float, tol: float,
               certify_lower: bool, mu_gt: float, lower_check_every: int, hint: list[float]):
    """Alg. 3 (generalized AGM on psi(t, .)); returns (decision, x, psi_or_bound, iterations). ``hint``: where
    the lower-bound checks' tangent cuts start, the last check's maximiser, carried across bisection steps."""
    dom, oracle = prob.domain, lev.oracle
    # On a ball, one set of inner products (_BallProducts) serves the feasibility test, the lower-bound check
    # and the gradient-mapping step
    ball = dom if isinstance(dom, Ball) else None
    grid = lambda_grid(prob.mu_f, mu_gt) if ball is not None and certify_lower else None
    x = x_start
    y = x_start
    a = 0.5
    best_x, best_psi = x_start, np.inf
    for k in range(K):
        fy, df, gty, dgt = lev.vg(y)
        f_t = fy - t
        if ball is not None:
            ey = y - ball.center
            ip = _BallProducts.of(ey, dot(ey, ey), df, dgt)
            feasible = k == 0 or ball.contains_sq(ip.ey_ey)
        else:
            feasible = k == 0 or dom.contains(y)
        if feasible:
            psi_y = max(f_t, gty)
            if psi_y < best_psi:
                best_x, best_psi = y, psi_y
        else:  # extrapolated point left Z: test the feasible iterate x instead (values only)
            fx, gtx = lev.values(x)
            psi_y = max(fx - t, gtx)
            if psi_y < best_psi:
                best_x, best_psi = x, psi_y
        if best_psi <= tol:
            return "upper", best_x, best_psi, k
        if certify_lower and k % lower_check_every == 0:
            level = _ROUNDING * (1 + abs(f_t) + abs(gty))
            if ball is not None:  # the check and the step below share their inner products
                bound = _ball_psi_lower_bound(ball, y, f_t, gty, df, dgt, prob.mu_f, mu_gt, level, grid, ip, hint)
            else:
                bound = psi_lower_bound(dom, y, f_t, gty, df, dgt, prob.mu_f, mu_gt, refine_above=level)
            if bound > level:
                return "lower", x, bound, k
        if ball is not None:
            x_new = _ball_gradient_mapping_step(ball, y, f_t, df, gty, dgt, L, ip)
        else:
            x_new = _generic_gradient_mapping_step(dom, y, f_t, df, gty, dgt, L)
        a_new = 0.5 * (-a * a + math.sqrt(a**4 + 4 * a * a))
        beta = a * (1 - a) / (a * a + a_new)
        y = x_new - x  # y = x_new + beta (x_new - x), in place: the same floating-point result, no temporaries
        y *= beta
        y += x_new
        x, a = x_new, a_new
        oracle.iterations += 1
        oracle.record(x, "bisection")
        if oracle.exhausted():
            break
    fx, gtx = lev.values(x)
    if max(fx - t, gtx) < best_psi:
        best_x, best_psi = x, max(fx - t, gtx)
    return ("upper" if best_psi <= tol else "cap"), best_x, best_psi, K


def _sgm_inner(prob: BilevelProblem, lev: _Levels, t: float, x_start: np.ndarray, K: int, step: float, tol: float,
               certify_lower: bool, avg_check_every: int, mu_gt: float, lb_every: int):
    """Alg. 2 (projected subgradient on psi(t, .), averaged); returns (decision, x, psi_or_bound, iterations).

    The lower bound is the average of the active pieces' linearisations, an affine minorant of psi(t, .).
    """
    dom, oracle = prob.domain, lev.oracle
    x = x_start
    x_sum = np.zeros_like(x)
    const_sum, v_sum = 0.0, np.zeros_like(x)
    best_x, best_psi = x_start, np.inf
    for k in range(K):
        fx, gtx = lev.values(x)
        f_t = fx - t
        psi = max(f_t, gtx)
        if psi < best_psi:
            best_x, best_psi = x, psi
        if psi <= tol:
            return "upper", x, psi, k
        n = k + 1
        check = certify_lower and n % lb_every == 0
        if f_t > gtx:
            s, piece = oracle.grad_f(x), f_t
            other = lev.scale * oracle.grad_g(x) if check else None
        else:
            s, piece = lev.scale * oracle.grad_g(x), gtx
            other = oracle.grad_f(x) if check else None
        const_sum += piece - float(s @ x)
        v_sum += s
        x_sum += x
        if check:
            # two certificates: the ergodic one (average of linearisations) and the Lagrangian one at x,
            # which needs the other level's subgradient (one extra call every lb_every iterations)
            vbar = v_sum / n
            bound = const_sum / n + float(vbar @ x) + float(dom.model_min(x, vbar, 0.0)[0])
            df, dgt = (s, other) if f_t > gtx else (other, s)
            level = _ROUNDING * (1 + abs(f_t) + abs(gtx))
            bound = max(bound, psi_lower_bound(dom, x, f_t, gtx, df, dgt, prob.mu_f, mu_gt,
                                               refine_above=None if bound > level else level))
            if bound > level:
                return "lower", x, bound, n
        if n % avg_check_every == 0:
            xa = x_sum / n
            fa, gta = lev.values(xa)
            if max(fa - t, gta) < best_psi:
                best_x, best_psi = xa, max(fa - t, gta)
            if best_psi <= tol:
                return "upper", best_x, best_psi, n
        x = dom.project(x - step * s)
        oracle.iterations += 1
        oracle.record(x, "bisection")
        if oracle.exhausted():
            break
    n = max(k + 1, 1)
    xa = x_sum / n
    fa, gta = lev.values(xa)
    if max(fa - t, gta) < best_psi:
        best_x, best_psi = xa, max(fa - t, gta)
    return ("upper" if best_psi <= tol else "cap"), best_x, best_psi, n


def _fc_bio(problem: BilevelProblem, oracle: CountingOracle, eps_f: float, eps_g: float, *, inner: str,
            inner_max_iter: int | None, ghat_max_iter: int, lower: float | None, warm_start: bool,
            certify_lower: bool, step_size: float | None, avg_check_every: int,
            lower_check_every: int, tighten: bool) -> MethodOutput:
    if int(lower_check_every) < 1:
        raise ValueError(f"invalid lower_check_every={lower_check_every!r}: must be an integer >= 1")
    if inner_max_iter is not None and int(inner_max_iter) < 1:
        raise ValueError(f"invalid inner_max_iter={inner_max_iter!r}: must be an integer >= 1 or None")
    dom = problem.domain
    if not dom.bounded:
        raise ValueError("invalid domain=Rn for fc-bio: needs a bounded Z; use Ball(x0, R) with ||x* - x0|| <= R")
    D = dom.diameter
    eps = eps_f
    scale = eps_f / eps_g  # Corollary 5.1
    tol = eps / 2

    cpu_start = time.process_time()  # CPU time, which other processes on a shared machine cannot inflate
    gh = ghat_stage(problem, oracle, eps_g, max_iter=ghat_max_iter)
    x_g, ghat = gh.x, gh.value
    lev = _Levels(oracle, ghat, scale)
    info = {"ghat": ghat, "ghat_gap_bound": gh.gap_bound, "ghat_certified": gh.certified,
            "ghat_iterations": gh.iterations, "steps": []}
    if lower is None:
        lower = _lower_bound_f(problem, oracle, max_iter=ghat_max_iter)
        user_lower = False
    else:
        user_lower = True
    info.update(setup_time_s=oracle.elapsed(), setup_cpu_s=time.process_time() - cpu_start,
                setup_iterations=oracle.iterations, setup_grad_calls=oracle.grad_calls)
    u = oracle.f(x_g)  # psi(u, x_g) = max(0, g(x_g) - g-hat) = 0, so u >= f-hat*
    l = float(lower)
    if user_lower and l >= u:
        raise ValueError(f"invalid lower={l!r}: must be below f at the g-hat point ({u:.6g})")
    l = min(l, u)
    n_steps = max(0, math.ceil(math.log2(max(u - l, 1e-300) / tol))) if u - l > tol else 0

    if inner == "agm":
        L_f, L_g = problem.smoothness()
        L = max(L_f, scale * L_g)
        theory_K = math.ceil(D * math.sqrt(12 * L / eps))  # Lemma 5.5
        step = None
    else:
        C_f, C_g = problem.lipschitz()
        C = max(C_f, scale * C_g)
        theory_K = math.ceil(4 * D * D * C * C / (eps * eps))  # Lemma 5.4
    K = theory_K if inner_max_iter is None else int(inner_max_iter)
    if inner != "agm":
        step = D / (C * math.sqrt(K)) if step_size is None else float(step_size)
    info.update({"inner_max_iter": K, "theory_inner_max_iter": theory_K, "bisection_steps_planned": n_steps})
    mu_gt = scale * problem.mu_g

    x_u, x_bar = x_g, x_g
    uncertified_lower = 0
    hint = [0.5]
    if tighten:
        u = u - tol  # psi(u - eps/2, x_g) <= eps/2 still holds, since g~(x_g) = 0
    while u - l > tol and len(info["steps"]) < n_steps:
        if oracle.exhausted():
            break
        t = 0.5 * (l + u)
        calls0 = oracle.grad_calls
        if inner == "agm":
            decision, x_t, value, iters = _agm_inner(problem, lev, t, x_bar, K, L, tol, certify_lower, mu_gt,
                                                      lower_check_every, hint)
        else:
            decision, x_t, value, iters = _sgm_inner(problem, lev, t, x_bar, K, step, tol, certify_lower,
                                                      avg_check_every, mu_gt, lower_check_every)
        if warm_start:
            x_bar = x_t
        if decision == "upper":
            u, x_u = t, x_t
            if tighten:  # any u with psi(u, x_t) <= eps/2 is valid: the smallest is f(x_t) - eps/2 (<= t)
                u = min(t, oracle.f(x_t) - tol)
        elif decision == "lower":
            # psi* is 1-Lipschitz (Lemma 5.2), so psi*(s) > 0 for s < t + bound: f-hat* >= t + bound
            l = t + value if tighten else t
        else:
            l = t
            if K < theory_K:
                uncertified_lower += 1  # psi-hat > eps/2 after fewer than the theory iterations
        info["steps"].append({"t": t, "decision": decision, "value": float(value), "inner_iterations": int(iters),
                              "grad_calls": oracle.grad_calls - calls0, "time_s": oracle.elapsed()})
    oracle.record(x_u, "final", force=True)
    completed = u - l <= tol
    info.update({"lower": l, "upper": u, "scale": scale, "uncertified_lower_steps": uncertified_lower,
                 "f_certified_gap": oracle.problem.f(x_u) - l})
    if not gh.certified:
        return MethodOutput(x_u, 3, f"g-hat not certified within {ghat_max_iter} iterations "
                            f"(bound {gh.gap_bound:.3g} > eps_g/2); the g-guarantee may fail", info)
    if not completed:
        return MethodOutput(x_u, 1, "budget exhausted during bisection", info)
    if uncertified_lower:
        return MethodOutput(x_u, 3, f"{uncertified_lower} bisection step(s) hit inner_max_iter={K} < theory "
                            f"{theory_K} and set l = t without proof; the f-guarantee may fail", info)
    return MethodOutput(x_u, 0, f"(eps_f, eps_g)-weak optimal: f(x) <= {l:.6g} + eps_f with {l:.6g} <= f*, "
                        f"g(x) - g* <= eps_g (g-hat certified)", info)


def fc_bio(problem: BilevelProblem, oracle: CountingOracle, eps_f: float, eps_g: float, *,
           inner_max_iter: int | None = None, ghat_max_iter: int = 15000, lower: float | None = None,
           warm_start: bool = True, certify_lower: bool = True, lower_check_every: int = 5,
           tighten_bracket: bool = True) -> MethodOutput:
    """FC-BiO^sm: bisection + generalized AGM (Alg. 1 + Alg. 3). ``inner_max_iter=None`` uses the theory cap
    ⌈D√(12L/eps)⌉ (the paper's runs used 8000 for min-norm and 500 for logistic). ``certify_lower`` ends
    "t < f-hat*" steps by a lower-bound certificate checked every ``lower_check_every`` inner iterations
    (False: the paper's variant, which needs the whole cap for them); ``tighten_bracket`` moves l and u to what
    each step proves instead of to t. ``certify_lower=False, tighten_bracket=False`` is the paper's Alg. 1."""
    return _fc_bio(problem, oracle, eps_f, eps_g, inner="agm", inner_max_iter=inner_max_iter,
                   ghat_max_iter=ghat_max_iter, lower=lower, warm_start=warm_start, certify_lower=certify_lower,
                   step_size=None, avg_check_every=1, lower_check_every=lower_check_every,
                   tighten=tighten_bracket)


def fc_bio_lip(problem: BilevelProblem, oracle: CountingOracle, eps_f: float, eps_g: float, *,
               inner_max_iter: int | None = None, step_size: float | None = None, ghat_max_iter: int = 15000,
               lower: float | None = None, warm_start: bool = True, certify_lower: bool = True,
               avg_check_every: int = 10, lower_check_every: int = 10,
               tighten_bracket: bool = True) -> MethodOutput:
    """FC-BiO^Lip: bisection + averaged projected subgradient (Alg. 1 + Alg. 2). Defaults follow Lemma 5.4
    (K = ⌈4D²C²/eps²⌉, step D/(C√K)); the paper's runs used K = 1000 with a fixed step (3e-4 / 2)."""
    return _fc_bio(problem, oracle, eps_f, eps_g, inner="sgm", inner_max_iter=inner_max_iter,
                   ghat_max_iter=ghat_max_iter, lower=lower, warm_start=warm_start, certify_lower=certify_lower,
                   step_size=step_size, avg_check_every=avg_check_every, lower_check_every=lower_check_every,
                   tighten=tighten_bracket)
