"""AutoTVM's model-free baselines, re-implemented natively: random, grid search and the genetic algorithm.

Behaviour follows ``python/tvm/autotvm/tuner/{index_based_tuner,ga_tuner}.py`` (TVM <= 0.19); the
GA's gene is AutoTVM's knob vector: one composition index per dimension (m, k, n).
"""

from __future__ import annotations

import numpy as np

from .measure import MeasureResult
from .space import Config, TilingSpace, composition_rank, composition_unrank
from .tuner import Tuner


class RandomTuner(Tuner):
    """Uniform sampling without replacement (AutoTVM ``RandomTuner``)."""

    name = "random"

    def __init__(self, space: TilingSpace, seed: int = 0) -> None:
        super().__init__(space, seed)
        self._visited: set[Config] = set()

    def _propose(self, n: int) -> list[Config]:
        out = []
        for _ in range(n):
            c = self._random_unvisited(self._visited)
            if c is None:
                break
            self._visited.add(c)
            out.append(c)
        return out

    def has_next(self) -> bool:
        return len(self._visited) < self.space.size


class GridSearchTuner(Tuner):
    """Configurations in index order (AutoTVM ``GridSearchTuner``); useful for tiny spaces."""

    name = "grid"

    def __init__(self, space: TilingSpace, seed: int = 0) -> None:
        super().__init__(space, seed)
        self._next_index = 0

    def _propose(self, n: int) -> list[Config]:
        stop = min(self.space.size, self._next_index + n)
        out = [self.space.unrank(i) for i in range(self._next_index, stop)]
        self._next_index = stop
        return out

    def has_next(self) -> bool:
        return self._next_index < self.space.size


class GATuner(Tuner):
    """AutoTVM ``GATuner``: roulette selection, one-point crossover on knobs, uniform mutation, elitism.

    Elites keep their scores and are not re-measured; children already measured are proposed again
    (AutoTVM does so, each costing a trial; the tuning loop serves them from its cache).
    """

    name = "ga"

    def __init__(self, space: TilingSpace, pop_size: int = 100, elite_num: int = 3,
                 mutation_prob: float = 0.1, seed: int = 0) -> None:
        super().__init__(space, seed)
        if isinstance(pop_size, bool) or not isinstance(pop_size, int) or pop_size < 2:
            raise ValueError(f"invalid pop_size={pop_size!r}: must be an integer >= 2")
        if isinstance(elite_num, bool) or not isinstance(elite_num, int) or not 0 <= elite_num <= pop_size:
            raise ValueError(f"invalid elite_num={elite_num!r}: must be an integer in [0, pop_size]")
        if not 0.0 <= mutation_prob <= 1.0:
            raise ValueError(f"invalid mutation_prob={mutation_prob!r}: must be in [0, 1]")
        self.pop_size = min(pop_size, space.size)
        self.elite_num = min(elite_num, self.pop_size)
        self.mutation_prob = mutation_prob
        self._radix = space.dim_sizes
        self._visited: set[tuple[int, ...]] = set()
        self.genes: list[tuple[int, ...]] = []
        while len(self.genes) < self.pop_size:
            g = self._random_gene()
            if g not in self._visited:
                self._visited.add(g)
                self.genes.append(g)
        self._gene_scores: dict[int, float] = {}
        self.elites: list[tuple[int, ...]] = []
        self.elite_scores: list[float] = []
        self._trial_pt = 0

    batch_size = property(lambda self: self.pop_size)  # type: ignore[assignment]

    def _random_gene(self) -> tuple[int, ...]:
        return tuple(int(self.rng.integers(r)) for r in self._radix)

    def gene_to_config(self, gene: tuple[int, ...]) -> Config:
        space = self.space
        return tuple(  # type: ignore[return-value]
            composition_unrank(g, a, d) for g, a, d in zip(gene, space.exponents, space.levels))

    def config_to_gene(self, config: Config) -> tuple[int, ...]:
        return tuple(composition_rank(e) for e in config)

    def _propose(self, n: int) -> list[Config]:
        out = []
        while len(out) < n and self._trial_pt < len(self.genes):
            out.append(self.gene_to_config(self.genes[self._trial_pt]))
            self._trial_pt += 1
        return out

    def _learn(self, configs: list[Config], scores: list[float], results: list[MeasureResult]) -> None:
        for config, score in zip(configs, scores):
            self._gene_scores[len(self._gene_scores)] = score
        if len(self._gene_scores) < len(self.genes):
            return
        self._next_generation([self._gene_scores[i] for i in range(len(self.genes))])

    def _next_generation(self, scores: list[float]) -> None:
        self._gene_scores = {}
        self._trial_pt = 0
        if self.space.size - len(self._visited) <= self.pop_size:
            # nearly exhausted: measure everything left (AutoTVM does the same)
            self.genes = [self.config_to_gene(c) for c in self.space if self.config_to_gene(c) not in self._visited]
            self._visited.update(self.genes)
            return
        pool = self.genes + self.elites
        pool_scores = np.array(scores + self.elite_scores, dtype=float)
        top = np.argsort(-pool_scores, kind="stable")[: self.elite_num]
        self.elites = [pool[i] for i in top]
        self.elite_scores = [float(pool_scores[i]) for i in top]
        w = pool_scores + 1e-8
        prob = w / w.max()
        prob = prob / prob.sum()
        n_genes = len(self._radix)
        children = []
        while len(children) < self.pop_size:
            p1, p2 = self.rng.choice(len(pool), size=2, replace=False, p=prob)
            cut = int(self.rng.integers(n_genes))
            child = list(pool[p1][:cut] + pool[p2][cut:])
            for j in range(n_genes):
                if self.rng.random() < self.mutation_prob:
                    child[j] = int(self.rng.integers(self._radix[j]))
            child_t = tuple(child)
            children.append(child_t)
            self._visited.add(child_t)
        self.genes = children

    def has_next(self) -> bool:
        return self._trial_pt < len(self.genes)
