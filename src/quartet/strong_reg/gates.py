"""Gates: when the strong penalty is applied.

A gate is a small object with one decision method, ``decide(stats) -> bool array`` (one entry per regularized
tensor), called once per training step with the step's :class:`~quartet.strong_reg.stats.GradStats`. With
``scope="global"`` the rule sees the sums over all tensors and its single answer applies to every tensor; with
``scope="per-layer"`` it decides for each tensor from that tensor's own statistics. Every gate records its
decisions (``gate.history``, a compact :class:`DecisionHistory`) and checkpoints through ``state_dict()`` /
``load_state_dict()``.

* :class:`AlwaysGate` - plain SGD on ``L + lam * Omega`` (the baseline that collapses past the tolerance level).
* :class:`NeverGate` - the penalty is never applied (statistics are still recorded).
* :class:`DelayedGate` - Delayed Strong Regularization (DSR, ICLR'18 submission): off for the first ``gamma``
  epochs or steps, on afterwards.
* :class:`CoherentGate` - Gradient-Coherent Strong Regularization (GCSR, arXiv:1811.08056), direction reading:
  on while ``cos(g_L, g_L + g_R) >= tau``. The paper's exact test is not public; this is a reconstruction.
* :class:`NormHistoryGate` - alternative GCSR reading: on while an EMA of ``||g_L||_1`` stays above
  ``rho`` times its running maximum.
* :class:`DominanceGate` - alternative GCSR reading: on while ``||g_L||_1 >= kappa * ||g_R||_1``.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from quartet.common.validation import check_choice, check_float, check_int, fail

from .stats import STAT_FIELDS, GradStats

__all__ = ["Gate", "DecisionHistory", "AlwaysGate", "NeverGate", "DelayedGate", "CoherentGate", "NormHistoryGate",
           "DominanceGate", "GATES", "make_gate"]

SCOPES = ("global", "per-layer")


class DecisionHistory:
    """Every recorded step's decisions, in growing numpy buffers (step, epoch, one bool per tensor).

    A gate records one row per training step, so a long run records hundreds of thousands. Kept as a list of
    ``(step, epoch, ndarray)`` tuples they cost ~220 bytes and a tuple plus an ndarray a step (7 tensors), and every
    full pass of the cyclic collector loops over the ever-growing list (CPython stops tracking the tuples after
    their first collection, but still visits every item of the list). Here a step costs 16 bytes plus one byte per
    tensor and leaves no Python object behind: the buffers double when full (amortised O(1) appends) and are
    the only objects the history owns.
    """

    __slots__ = ("_steps", "_epochs", "_on", "_n")

    _INITIAL = 64

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._steps = np.empty(0, dtype=np.int64)
        self._epochs = np.empty(0, dtype=np.int64)
        self._on: np.ndarray | None = None  # (capacity, n_tensors) bool; the width is fixed by the first row
        self._n = 0

    def append(self, step: int, epoch: int, on: np.ndarray) -> None:
        on = np.asarray(on, dtype=bool).reshape(-1)
        if self._on is None:
            self._on = np.empty((0, on.size), dtype=bool)
        elif on.size != self._on.shape[1]:
            fail("on", on.size, f"must hold {self._on.shape[1]} decisions, as the earlier steps did")
        if self._n == len(self._steps):
            self._grow(max(self._INITIAL, 2 * self._n))
        self._steps[self._n] = step
        self._epochs[self._n] = epoch
        self._on[self._n] = on
        self._n += 1

    def _grow(self, capacity: int) -> None:
        steps, epochs = np.empty(capacity, dtype=np.int64), np.empty(capacity, dtype=np.int64)
        on = np.empty((capacity, self._on.shape[1]), dtype=bool)
        steps[:self._n], epochs[:self._n], on[:self._n] = self.steps, self.epochs, self.decisions
        self._steps, self._epochs, self._on = steps, epochs, on

    # -- read access (views of the filled part; copy before keeping them across appends) -----------------------
    def __len__(self) -> int:
        return self._n

    @property
    def steps(self) -> np.ndarray:
        """The recorded step numbers, shape ``(n,)``."""
        return self._steps[:self._n]

    @property
    def epochs(self) -> np.ndarray:
        """The epoch of each recorded step, shape ``(n,)``."""
        return self._epochs[:self._n]

    @property
    def decisions(self) -> np.ndarray:
        """The decisions, shape ``(n, n_tensors)`` bool (``(0, 0)`` before the first record)."""
        return np.empty((0, 0), dtype=bool) if self._on is None else self._on[:self._n]

    def __getitem__(self, i: int) -> tuple[int, int, np.ndarray]:
        """Row ``i`` as ``(step, epoch, on)`` (negative indices count from the end)."""
        if not -self._n <= i < self._n:
            raise IndexError(f"history index {i} out of range for {self._n} steps")
        i %= self._n
        return int(self._steps[i]), int(self._epochs[i]), self._on[i].copy()

    def __iter__(self):
        """Rows as ``(step, epoch, on)``, built on the fly (nothing per step is stored)."""
        return (self[i] for i in range(self._n))

    def last(self) -> np.ndarray | None:
        """The latest decisions (a copy), or None before the first record."""
        return self[-1][2] if self._n else None

    def layer_series(self, tensor: int) -> np.ndarray:
        """One tensor's decision at every recorded step, shape ``(n,)`` (the per-layer diagnostics)."""
        return self.decisions[:, tensor].copy()

    def on_fraction(self, epoch: int | None = None) -> float:
        """Share of recorded (step, tensor) decisions that were on, optionally for one epoch; NaN if none."""
        on = self.decisions if epoch is None else self.decisions[self.epochs == epoch]
        return float(on.mean()) if on.size else float("nan")

    @property
    def nbytes(self) -> int:
        """Bytes held by the buffers (capacity, not just the filled part)."""
        return self._steps.nbytes + self._epochs.nbytes + (0 if self._on is None else self._on.nbytes)

    # -- checkpointing -----------------------------------------------------------------------------------------
    def state(self) -> dict[str, list]:
        """JSON-able columns: ``{"step": [...], "epoch": [...], "on": [[...], ...]}``."""
        return {"step": self.steps.tolist(), "epoch": self.epochs.tolist(), "on": self.decisions.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, list] | list) -> "DecisionHistory":
        """Rebuild from :meth:`state`, or from the list of ``(step, epoch, on)`` rows older checkpoints hold."""
        rows = (zip(state["step"], state["epoch"], state["on"]) if isinstance(state, dict) else state)
        hist = cls()
        for s, e, on in rows:
            hist.append(int(s), int(e), np.asarray(on, dtype=bool))
        return hist

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DecisionHistory):
            return NotImplemented
        return (np.array_equal(self.steps, other.steps) and np.array_equal(self.epochs, other.epochs)
                and np.array_equal(self.decisions, other.decisions))

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        return f"DecisionHistory(steps={self._n}, tensors={self.decisions.shape[1] if self._on is not None else 0})"


class Gate:
    """Base class. Subclasses implement ``_rule(stats) -> bool array`` on statistics of the gate's scope."""

    name: ClassVar[str] = "gate"
    #: the :class:`GradStats` fields the rule reads; the regularizer computes only these (each one is a pass
    #: over the weights), the rest arrive as NaN. A subclass that does not say reads all of them.
    reads: ClassVar[frozenset[str]] = frozenset(STAT_FIELDS)
    #: whether the rule reads any gradient statistic (derived from ``reads``)
    needs_stats: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        unknown = set(cls.reads) - set(STAT_FIELDS)
        if unknown:
            raise TypeError(f"{cls.__name__}.reads names unknown statistics {sorted(unknown)}")
        cls.needs_stats = bool(cls.reads)

    def __init__(self, scope: str = "global") -> None:
        self.scope = check_choice("scope", scope, SCOPES)
        self.history = DecisionHistory()  # (step, epoch, on per tensor) for every recorded step

    # -- the decision --------------------------------------------------------------------------------------
    def decide(self, stats: GradStats) -> np.ndarray:
        """Whether to apply the penalty at this step, one bool per regularized tensor."""
        view = stats.total() if self.scope == "global" else stats
        on = np.asarray(self._rule(view), dtype=bool).reshape(-1)
        if on.size == 1:  # one answer for every tensor
            on = on.repeat(stats.n_tensors)
        elif on.size == stats.n_tensors:
            on = on.copy()  # the caller may keep it; the rule may not hand out its own state
        else:
            fail("decisions", on.size, f"a rule must return 1 or {stats.n_tensors} decisions")
        self.record(stats.step, stats.epoch, on)
        return on

    def record(self, step: int, epoch: int, on: np.ndarray) -> None:
        """Append one step's decisions to the history (``decide`` does this; the regularizer also calls it on
        steps where it holds an earlier decision, so ``on_fraction`` counts every step)."""
        self.history.append(int(step), int(epoch), on)

    def _rule(self, stats: GradStats) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- bookkeeping ---------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget history and any running state (a fresh training run)."""
        self.history.clear()

    def on_fraction(self, *, epoch: int | None = None) -> float:
        """Share of recorded (step, tensor) decisions that applied the penalty; optionally for one epoch."""
        return self.history.on_fraction(epoch)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "scope": self.scope}

    def _state(self) -> dict[str, Any]:
        return {}

    def _load_state(self, state: dict[str, Any]) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {"config": self.config(),
                "history": self.history.state(),
                "state": self._state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("config", {}).get("name") != self.name:
            fail("state_dict", state.get("config", {}).get("name"), f"a state saved by a '{self.name}' gate")
        self.history = DecisionHistory.from_state(state["history"])
        self._load_state(state["state"])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class AlwaysGate(Gate):
    """The penalty at every step: plain SGD on the regularized objective."""

    name = "always"
    reads = frozenset()

    def _rule(self, stats: GradStats) -> np.ndarray:
        return np.ones(stats.n_tensors, dtype=bool)


class NeverGate(Gate):
    """The penalty at no step (an unregularized run that still records the penalty's statistics)."""

    name = "never"
    reads = frozenset()

    def _rule(self, stats: GradStats) -> np.ndarray:
        return np.zeros(stats.n_tensors, dtype=bool)


class DelayedGate(Gate):
    """Delayed Strong Regularization: no penalty before epoch (or step) ``gamma``, the full penalty after."""

    name = "delayed"
    reads = frozenset()

    def __init__(self, gamma: int = 2, unit: str = "epoch", scope: str = "global") -> None:
        super().__init__(scope)
        self.gamma = check_int("gamma", gamma, min=0)
        self.unit = check_choice("unit", unit, ("epoch", "step"))

    def _rule(self, stats: GradStats) -> np.ndarray:
        clock = stats.epoch if self.unit == "epoch" else stats.step
        return np.full(stats.n_tensors, clock >= self.gamma)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "gamma": self.gamma, "unit": self.unit}


class CoherentGate(Gate):
    """GCSR, direction reading: penalty on while ``cos(g_L, g_L + g_R) >= tau``.

    The penalized update must keep pointing where the loss wants to go; when the penalty dominates the
    cosine falls towards 0 and the penalty is skipped until the loss gradient recovers. With ``g_R``
    orthogonal to ``g_L``, ``tau = 0.5`` allows ``||g_R|| <= sqrt(3) ||g_L||``. A zero loss gradient
    gives no direction, and the gate stays off.
    """

    name = "coherent"
    reads = frozenset({"loss_sq", "pen_sq", "dot"})

    def __init__(self, tau: float = 0.5, scope: str = "global") -> None:
        super().__init__(scope)
        self.tau = check_float("tau", tau, min=-1.0, max=1.0)

    def _rule(self, stats: GradStats) -> np.ndarray:
        return stats.coherence() >= self.tau  # NaN (no loss direction) compares False: off

    def config(self) -> dict[str, Any]:
        return {**super().config(), "tau": self.tau}


class NormHistoryGate(Gate):
    """GCSR, magnitude reading: on while the EMA of ``||g_L||_1`` is at least ``rho`` times its running max.

    ``e_t = beta * e_{t-1} + (1 - beta) * ||g_L||_1`` (``e_0 = ||g_L||_1``), ``M_t = max_{s<=t} e_s``;
    on when ``t >= warmup`` and ``e_t >= rho * M_t``. Off during the warm-up.
    """

    name = "norm-history"
    reads = frozenset({"loss_l1"})

    def __init__(self, rho: float = 0.5, beta: float = 0.9, warmup: int = 20, scope: str = "global") -> None:
        super().__init__(scope)
        self.rho = check_float("rho", rho, min=0.0, max=1.0)
        self.beta = check_float("beta", beta, min=0.0, max=1.0, max_inclusive=False)
        self.warmup = check_int("warmup", warmup, min=0)
        self._ema: np.ndarray | None = None
        self._max: np.ndarray | None = None
        self._seen = 0

    def _rule(self, stats: GradStats) -> np.ndarray:
        m = stats.loss_l1
        if self._ema is None or self._ema.shape != m.shape:
            self._ema = m.copy()
            self._max = m.copy()
        else:
            self._ema = self.beta * self._ema + (1.0 - self.beta) * m
            self._max = np.maximum(self._max, self._ema)
        self._seen += 1
        if self._seen <= self.warmup:
            return np.zeros_like(m, dtype=bool)
        return self._ema >= self.rho * self._max

    def reset(self) -> None:
        super().reset()
        self._ema, self._max, self._seen = None, None, 0

    def config(self) -> dict[str, Any]:
        return {**super().config(), "rho": self.rho, "beta": self.beta, "warmup": self.warmup}

    def _state(self) -> dict[str, Any]:
        return {"ema": None if self._ema is None else self._ema.tolist(),
                "max": None if self._max is None else self._max.tolist(), "seen": self._seen}

    def _load_state(self, state: dict[str, Any]) -> None:
        self._ema = None if state["ema"] is None else np.asarray(state["ema"], dtype=np.float64)
        self._max = None if state["max"] is None else np.asarray(state["max"], dtype=np.float64)
        self._seen = int(state["seen"])


class DominanceGate(Gate):
    """GCSR, dominance reading: on while ``||g_L||_1 >= kappa * ||g_R||_1`` (the loss gradient dominates)."""

    name = "dominance"
    reads = frozenset({"loss_l1", "pen_l1"})

    def __init__(self, kappa: float = 1.0, scope: str = "global") -> None:
        super().__init__(scope)
        self.kappa = check_float("kappa", kappa, min=0.0)

    def _rule(self, stats: GradStats) -> np.ndarray:
        return stats.loss_l1 >= self.kappa * stats.pen_l1

    def config(self) -> dict[str, Any]:
        return {**super().config(), "kappa": self.kappa}


GATES: dict[str, type[Gate]] = {g.name: g for g in (AlwaysGate, NeverGate, DelayedGate, CoherentGate,
                                                     NormHistoryGate, DominanceGate)}


def gate_parameters(name: str) -> frozenset[str]:
    """The constructor parameters of gate ``name`` (``tau`` for coherent, ``gamma`` and ``unit`` for delayed...)."""
    cls = GATES[check_choice("gate", name, tuple(GATES))]
    return frozenset(inspect.signature(cls.__init__).parameters) - {"self"}


def make_gate(name: str, **params: Any) -> Gate:
    """Build a gate by name; ``params`` not used by that gate are ignored (so one CLI can carry them all)."""
    accepted = gate_parameters(name)
    return GATES[name](**{k: v for k, v in params.items() if k in accepted and v is not None})
