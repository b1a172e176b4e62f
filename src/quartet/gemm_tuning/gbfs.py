"""G-BFS: Greedy Best-First Search over GEMM tilings (Zhang et al., arXiv 1909.10616).

Keep a priority queue of measured, unexpanded configurations ordered by GFLOP/s. Repeatedly pop the
best, sample ``rho`` of its valid neighbourhood moves, and measure the children not yet seen; every
measured child enters the queue. Each configuration is expanded at most once.

Differences from the NNI re-implementation: NNI ends the run ("no candidates") whenever a popped state
has no new sampled child although the queue still holds states; here the next state is simply popped.
If the queue runs empty the run stops (``stop_reason="queue_empty"``) or, with ``restart="random"``,
continues from a random unvisited configuration.

Start state: NNI starts from the naive "outer" tiling ``[X, 1, ..., 1]`` (``init="outer"``, kept as an
option). The default here seeds the queue with 5 measured uniform samples (``init="random"``), because
the naive kernel is among the slowest of the space and far from any good tiling; the reference
note allows both starts (reasons and numbers: ``Tuner._start_states``).
"""

from __future__ import annotations

import heapq
import math
from itertools import count

from .measure import MeasureResult
from .space import Config, TilingSpace
from .tuner import Tuner


class GBFSTuner(Tuner):
    """Greedy best-first search.

    rho: children sampled per expansion: an int >= 1 is a count (NNI's ``num_samples``, default 5), a
        float in (0, 1) a fraction of the valid moves (the paper may define rho that way).
    init: ``"random"`` (default: ``n_init`` uniform samples, default 5, all measured and queued, so the
        search expands the best of them first) or ``"outer"`` (NNI: the whole extent in the outermost
        level, ``n_init`` = 1). Why random by default: see ``Tuner._start_states``.
    restart: ``None`` (stop when the queue empties) or ``"random"``.
    """

    name = "gbfs"

    def __init__(self, space: TilingSpace, rho: int | float = 5, init: str = "random", n_init: int | None = None,
                 restart: str | None = None, seed: int = 0) -> None:
        super().__init__(space, seed)
        if isinstance(rho, bool) or not (
            (isinstance(rho, int) and rho >= 1) or (isinstance(rho, float) and 0.0 < rho < 1.0)
        ):
            raise ValueError(f"invalid rho={rho!r}: must be an int >= 1 (count) or a float in (0, 1) (fraction)")
        if restart not in (None, "random"):
            raise ValueError(f"invalid restart={restart!r}: must be None or 'random'")
        self.rho, self.init, self.restart = rho, init, restart
        self._queue: list[tuple[float, int, Config]] = []  # (-score, -insertion, config): ties -> newest first
        self._tick = count()
        # every start state is measured and queued: best-first search then expands the best of them first
        self._pending: list[Config] = self._start_states(init, n_init)
        self._proposed: set[Config] = set(self._pending)
        self.n_expanded = 0
        self.n_empty_expansions = 0  # expansions whose sampled children were all seen (NNI stops there)
        self.proposed_at_first_empty: int | None = None

    @property
    def batch_size(self) -> int:  # one expansion
        return self.rho if isinstance(self.rho, int) else max(1, math.ceil(self.rho * self.space.n_actions))

    def _n_children(self, n_valid: int) -> int:
        if isinstance(self.rho, int):
            return self.rho
        return max(1, math.ceil(self.rho * n_valid))

    def _expand_next(self) -> bool:
        """Pop states until one yields new children; False when nothing is left to expand."""
        while self._queue:
            _, _, state = heapq.heappop(self._queue)
            self.n_expanded += 1
            actions = self.space.valid_actions(state)
            k = self._n_children(len(actions))
            if len(actions) > k:
                picks = [actions[i] for i in self.rng.choice(len(actions), size=k, replace=False)]
            else:
                picks = actions
            children = [self.space.step(state, a) for a in picks]
            children = [c for c in dict.fromkeys(children) if c not in self._proposed]
            if children:
                self._pending.extend(children)
                self._proposed.update(children)
                return True
            self.n_empty_expansions += 1
            if self.proposed_at_first_empty is None:
                self.proposed_at_first_empty = len(self._proposed)
        if self.restart == "random":
            c = self._random_unvisited(self._proposed)
            if c is not None:
                self._pending.append(c)
                self._proposed.add(c)
                return True
        return False

    def _propose(self, n: int) -> list[Config]:
        if not self._pending and not self._expand_next():
            self.stop_reason = "queue_empty"
            return []
        batch, self._pending = self._pending[:n], self._pending[n:]
        return batch

    def _learn(self, configs: list[Config], scores: list[float], results: list[MeasureResult]) -> None:
        for config, score in zip(configs, scores):
            heapq.heappush(self._queue, (-score, -next(self._tick), config))

    def has_next(self) -> bool:
        if self.stop_reason is not None or len(self._proposed) >= self.space.size and not self._pending:
            return False
        return bool(self._pending or self._queue or self.restart == "random")
