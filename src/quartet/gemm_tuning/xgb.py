"""AutoTVM's ``XGBTuner`` re-implemented natively: an XGBoost cost model plus simulated annealing.

Behaviour follows ``python/tvm/autotvm/tuner/{model_based_tuner,xgboost_cost_model,sa_model_optimizer}.py``
(TVM <= 0.19): the first ``plan_size`` trials are uniform random; after every ``plan_size`` new samples the
model is refit (labels ``y / max(y)``, early stopping on the training set's ``a-recall@plan_size``) and
simulated annealing over knob random walks proposes the next plan of ``plan_size`` unvisited points;
the last 5% of each plan is replaced by random points. Features are the slot exponents (AutoTVM's
``knob`` features; TVM 0.27 has no ``itervar`` extractor).
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from .measure import MeasureResult
from .space import Config, TilingSpace, composition_rank, compositions
from .tuner import Tuner

XGB_PARAMS = {
    "max_depth": 3, "gamma": 0.0001, "min_child_weight": 1, "subsample": 1.0, "eta": 0.3,
    "lambda": 1.0, "alpha": 0.0,
}


def recall_curve(trial_ranks: np.ndarray) -> np.ndarray:
    """AutoTVM's recall curve: ``curve[i] = #{j < i : rank_j <= i} / (i + 1)`` (off-by-one kept)."""
    n = len(trial_ranks)
    i = np.arange(n)
    hits = (trial_ranks[None, :] <= i[:, None]) & (i[None, :] < i[:, None])
    return hits.sum(axis=1) / (i + 1)


def average_recall(preds: np.ndarray, labels: np.ndarray, top_n: int) -> float:
    """``a-recall@N``: mean of the recall curve over the first N points ordered by prediction."""
    order = np.argsort(preds)[::-1]
    values = labels[order]
    tmp = np.argsort(-values, kind="stable")
    ranks = np.empty_like(tmp)
    ranks[tmp] = np.arange(len(tmp))
    return float(np.sum(recall_curve(ranks)[:top_n]) / top_n)


class XGBoostCostModel:
    """XGBoost regression on normalised GFLOP/s (AutoTVM ``XGBoostCostModel``, ``reg`` or ``rank`` loss)."""

    def __init__(self, loss_type: str = "reg", num_threads: int = 1, seed: int = 0,
                 max_rounds: int = 8000, early_stopping_rounds: int = 20) -> None:
        if loss_type not in ("reg", "rank"):
            raise ValueError(f"invalid loss_type={loss_type!r}: must be 'reg' or 'rank'")
        self.loss_type, self.num_threads, self.seed = loss_type, num_threads, seed
        self.max_rounds, self.early_stopping_rounds = max_rounds, early_stopping_rounds
        self.booster = None
        self.best_iteration = 0

    def fit(self, features: np.ndarray, gflops: np.ndarray, top_n: int, rng: np.random.Generator) -> None:
        import xgboost as xgb

        y = np.asarray(gflops, dtype=float)
        y = y / max(y.max(), 1e-8)
        perm = rng.permutation(len(y))  # AutoTVM shuffles the training rows
        x, y = features[perm], y[perm]
        params = dict(XGB_PARAMS, nthread=self.num_threads, seed=self.seed, verbosity=0,
                      objective="reg:squarederror" if self.loss_type == "reg" else "rank:pairwise")
        dtrain = xgb.DMatrix(x, label=y)
        model = self

        class _ARecallStopping(xgb.callback.TrainingCallback):
            """Stop after ``early_stopping_rounds`` without a better training a-recall (even rounds only)."""

            def __init__(self) -> None:
                self.best, self.best_epoch = -math.inf, 0

            def after_iteration(self, booster, epoch, evals_log) -> bool:
                if epoch % 2:
                    return False
                score = average_recall(booster.predict(dtrain, iteration_range=(0, epoch + 1)), y, top_n)
                if score > self.best:
                    self.best, self.best_epoch = score, epoch
                model.best_iteration = self.best_epoch
                return epoch - self.best_epoch >= model.early_stopping_rounds

        self.booster = xgb.train(params, dtrain, num_boost_round=self.max_rounds, callbacks=[_ARecallStopping()])

    def predict(self, features: np.ndarray) -> np.ndarray:
        if self.booster is None:
            raise RuntimeError("predict() called before fit()")
        return self.booster.inplace_predict(features, iteration_range=(0, self.best_iteration + 1))


class SimulatedAnnealingOptimizer:
    """AutoTVM ``SimulatedAnnealingOptimizer`` over knob vectors (one composition index per dimension)."""

    def __init__(self, space: TilingSpace, rng: np.random.Generator, n_iter: int = 500,
                 temp: tuple[float, float] = (1.0, 0.0), persistent: bool = True,
                 parallel_size: int = 128, early_stop: int = 50) -> None:
        self.space, self.rng = space, rng
        self.n_iter, self.temp, self.persistent, self.early_stop = n_iter, temp, persistent, early_stop
        self.parallel_size = min(parallel_size, space.size)
        self.radix = np.array(space.dim_sizes)
        # lookup tables: composition index -> exponent tuple, per dimension
        self.tables = [np.array(list(compositions(a, d))) for a, d in zip(space.exponents, space.levels)]
        self.points: np.ndarray | None = None

    def features(self, genes: np.ndarray) -> np.ndarray:
        return np.concatenate([t[genes[:, x]] for x, t in enumerate(self.tables)], axis=1).astype(np.float64)

    def gene_of(self, config: Config) -> tuple[int, ...]:
        return tuple(composition_rank(e) for e in config)

    def config_of(self, gene: tuple[int, ...]) -> Config:
        return tuple(tuple(int(v) for v in self.tables[x][g]) for x, g in enumerate(gene))  # type: ignore[return-value]

    def _random_walk(self, points: np.ndarray) -> np.ndarray:
        """Re-draw one uniformly chosen knob of each point until the point changed."""
        new = points.copy()
        todo = np.ones(len(points), dtype=bool)
        if (self.radix <= 1).all():
            return new
        while todo.any():
            idx = np.nonzero(todo)[0]
            knob = self.rng.integers(len(self.radix), size=len(idx))
            value = self.rng.integers(self.radix[knob])
            new[idx, knob] = value
            todo[idx] = (new[idx] == points[idx]).all(axis=1)
        return new

    def find_maximums(self, model: XGBoostCostModel, num: int, exclude: set[tuple[int, ...]]) -> list[tuple[int, ...]]:
        if self.points is None or not self.persistent:
            flat = self.rng.choice(self.space.size, size=self.parallel_size, replace=False)
            self.points = np.array([self.gene_of(self.space.unrank(int(i))) for i in flat])
        points = self.points
        scores = model.predict(self.features(points))
        heap: list[tuple[float, tuple[int, ...]]] = [(-math.inf, (-1 - i,)) for i in range(num)]
        in_heap = {g for _, g in heap}

        def push(score_arr: np.ndarray, genes: np.ndarray) -> bool:
            changed = False
            for s, g in zip(score_arr, map(tuple, genes.tolist())):
                if s > heap[0][0] and g not in exclude and g not in in_heap:
                    _, popped = heapq.heapreplace(heap, (float(s), g))
                    in_heap.discard(popped)
                    in_heap.add(g)
                    changed = True
            return changed

        push(scores, points)
        t = self.temp[0]
        cool = (self.temp[0] - self.temp[1]) / (self.n_iter + 1)
        k = last_change = 0
        while k < self.n_iter and k < last_change + self.early_stop:
            proposals = self._random_walk(points)
            p_scores = model.predict(self.features(proposals))
            accept = self.rng.random(len(points)) < np.exp(np.minimum((p_scores - scores) / (t + 1e-5), 1))
            points[accept] = proposals[accept]
            scores[accept] = p_scores[accept]
            if push(p_scores, proposals):
                last_change = k
            k += 1
            t -= cool
        self.points = points
        best = sorted(heap, reverse=True)
        return [g for s, g in best if s >= 0 and g[0] >= 0]


def submodular_pick(genes: list[tuple[int, ...]], n_pick: int) -> list[tuple[int, ...]]:
    """Greedily pick ``n_pick`` genes covering the most distinct knob values (AutoTVM diversity filter)."""
    chosen: list[tuple[int, ...]] = []
    covered: list[set[int]] = [set() for _ in genes[0]] if genes else []
    remaining = list(genes)
    while remaining and len(chosen) < n_pick:
        gains = [sum(v not in covered[j] for j, v in enumerate(g)) for g in remaining]
        best = int(np.argmax(gains))
        g = remaining.pop(best)
        chosen.append(g)
        for j, v in enumerate(g):
            covered[j].add(v)
    return chosen


class XGBTuner(Tuner):
    """Model-based tuner: XGBoost cost model + simulated annealing (AutoTVM ``XGBTuner`` with knob features).

    plan_size: samples between refits and length of each plan (AutoTVM default 64; use 16 for budgets
        under ~200 so the model acts at all).
    """

    name = "xgb"

    def __init__(self, space: TilingSpace, plan_size: int = 64, loss_type: str = "reg",
                 diversity_filter_ratio: float | None = None, sa_iters: int = 500, num_threads: int = 1,
                 seed: int = 0) -> None:
        super().__init__(space, seed)
        if isinstance(plan_size, bool) or not isinstance(plan_size, int) or plan_size < 1:
            raise ValueError(f"invalid plan_size={plan_size!r}: must be an integer >= 1")
        if diversity_filter_ratio is not None and not diversity_filter_ratio >= 1:
            raise ValueError(f"invalid diversity_filter_ratio={diversity_filter_ratio!r}: must be None or >= 1")
        self.plan_size, self.diversity_filter_ratio = plan_size, diversity_filter_ratio
        self.model = XGBoostCostModel(loss_type=loss_type, num_threads=num_threads, seed=seed)
        self.sa = SimulatedAnnealingOptimizer(space, self.rng, n_iter=sa_iters)
        self.visited: set[tuple[int, ...]] = set()
        self.plan: list[tuple[int, ...]] = []
        self.ptr = 0
        self.train_ct = 0
        self.xs: list[np.ndarray] = []
        self.ys: list[float] = []

    def _propose(self, n: int) -> list[Config]:
        out = []
        for _ in range(n):
            if not self.has_next():
                break
            while self.ptr < len(self.plan) and self.plan[self.ptr] in self.visited:
                self.ptr += 1
            if self.ptr >= len(self.plan) - int(0.05 * self.plan_size):
                config = self._random_unvisited({self.sa.config_of(g) for g in self.visited}) \
                    if len(self.visited) > 0.5 * self.space.size else self._fast_random()
                gene = self.sa.gene_of(config)
            else:
                gene = self.plan[self.ptr]
                self.ptr += 1
                config = self.sa.config_of(gene)
            self.visited.add(gene)
            out.append(config)
        return out

    def _fast_random(self) -> Config:
        while True:
            c = self.space.sample(self.rng)
            if self.sa.gene_of(c) not in self.visited:
                return c

    def _learn(self, configs: list[Config], scores: list[float], results: list[MeasureResult]) -> None:
        for c, s in zip(configs, scores):
            self.xs.append(self.space.encode(c, "knob"))
            self.ys.append(s)
        if len(self.xs) >= self.plan_size * (self.train_ct + 1) and max(self.ys) > 1e-6:
            self.model.fit(np.stack(self.xs), np.array(self.ys), self.plan_size, self.rng)
            if self.diversity_filter_ratio:
                candidates = self.sa.find_maximums(
                    self.model, int(self.plan_size * self.diversity_filter_ratio), self.visited)
                self.plan = submodular_pick(candidates, self.plan_size)
            else:
                self.plan = self.sa.find_maximums(self.model, self.plan_size, self.visited)
            self.ptr = 0
            self.train_ct += 1

    def has_next(self) -> bool:
        return len(self.visited) < self.space.size
