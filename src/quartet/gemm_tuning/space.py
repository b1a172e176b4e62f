"""The GEMM tiling space of Zhang et al. (arXiv 1909.10616).

``C[m, n] = sum_k A[m, k] * B[k, n]`` with M, K, N powers of two. Each dimension x in (m, k, n) is split
into ``d_x`` ordered power-of-two factors (outermost first) whose product is the extent. A configuration
is stored in exponent form: one tuple of ``d_x`` non-negative exponents per dimension summing to
``log2(extent)``. A neighbour moves one factor of 2 between two levels of one dimension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import product
from typing import Iterator, Sequence

import numpy as np

Config = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]
"""A configuration: exponent tuples for (m, k, n), outermost level first."""

Action = tuple[int, int, int]
"""A neighbourhood move ``(dimension, i, j)``: halve slot i, double slot j of that dimension."""

DIMENSIONS = ("m", "k", "n")


def _power_of_two_exponent(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1 or (value & (value - 1)):
        raise ValueError(f"invalid {name}={value!r}: must be a power of two >= 1 (e.g. 64, 256, 1024)")
    return int(value).bit_length() - 1


@lru_cache(maxsize=None)
def n_compositions(total: int, parts: int) -> int:
    """Number of ordered ways to write 2**total as ``parts`` power-of-two factors (stars and bars)."""
    if parts < 1 or total < 0:
        return 0
    return math.comb(total + parts - 1, parts - 1)


def compositions(total: int, parts: int) -> Iterator[tuple[int, ...]]:
    """All exponent tuples of length ``parts`` summing to ``total``, in lexicographic order."""
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in compositions(total - first, parts - 1):
            yield (first, *rest)


def composition_rank(exponents: Sequence[int]) -> int:
    """Lexicographic index of ``exponents`` among all compositions with the same sum and length."""
    remaining = sum(exponents)
    parts = len(exponents)
    rank = 0
    for position, value in enumerate(exponents[:-1]):
        slots_after = parts - position - 1
        for smaller in range(value):
            rank += n_compositions(remaining - smaller, slots_after)
        remaining -= value
    return rank


def composition_unrank(rank: int, total: int, parts: int) -> tuple[int, ...]:
    """Inverse of :func:`composition_rank`."""
    out = []
    remaining = total
    for position in range(parts - 1):
        slots_after = parts - position - 1
        value = 0
        while rank >= (count := n_compositions(remaining - value, slots_after)):
            rank -= count
            value += 1
        out.append(value)
        remaining -= value
    out.append(remaining)
    return tuple(out)


@dataclass(frozen=True)
class TilingSpace:
    """Power-of-two multi-level tilings of an ``M x K @ K x N`` float32 GEMM.

    ``levels = (d_m, d_k, d_n)`` is the number of tiling factors per dimension. The default (3, 2, 3)
    is the CPU template's space (|S| = 30,250 at 512^3); (4, 2, 4) and (4, 3, 4) give paper-like sizes.
    """

    M: int
    N: int
    K: int
    levels: tuple[int, int, int] = (3, 2, 3)
    exponents: tuple[int, int, int] = field(init=False, repr=False)
    actions: tuple[Action, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        a_m = _power_of_two_exponent("M", self.M)
        a_n = _power_of_two_exponent("N", self.N)
        a_k = _power_of_two_exponent("K", self.K)
        levels = tuple(self.levels) if isinstance(self.levels, (tuple, list)) else None
        if levels is None or len(levels) != 3 or any(
            isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 1 <= d <= 8 for d in levels
        ):
            raise ValueError(
                f"invalid levels={self.levels!r}: must be three integers (d_m, d_k, d_n), each in 1..8"
            )
        object.__setattr__(self, "levels", tuple(int(d) for d in levels))
        object.__setattr__(self, "exponents", (a_m, a_k, a_n))
        # Fixed action list in (m, k, n), i, j order: it defines N-A2C's actor output layout.
        acts = tuple((x, i, j) for x, d in enumerate(self.levels) for i in range(d) for j in range(d) if i != j)
        object.__setattr__(self, "actions", acts)

    # ----- size and indexing -------------------------------------------------------------------------
    @property
    def dim_sizes(self) -> tuple[int, int, int]:
        """Number of factorizations per dimension (m, k, n)."""
        return tuple(n_compositions(a, d) for a, d in zip(self.exponents, self.levels))  # type: ignore[return-value]

    @property
    def size(self) -> int:
        """Exact |S| = prod_x C(a_x + d_x - 1, d_x - 1)."""
        return math.prod(self.dim_sizes)

    def __len__(self) -> int:
        return self.size

    @property
    def flop(self) -> int:
        return 2 * self.M * self.N * self.K

    @property
    def n_actions(self) -> int:
        return len(self.actions)

    @property
    def n_slots(self) -> int:
        return sum(self.levels)

    def signature(self) -> str:
        """Workload key used by the database: shape and levels."""
        d_m, d_k, d_n = self.levels
        return f"gemm_f32_M{self.M}_N{self.N}_K{self.K}_L{d_m}-{d_k}-{d_n}"

    def rank(self, config: Config) -> int:
        """Mixed-radix index of a configuration in [0, |S|)."""
        self.validate(config)
        index = 0
        for exps, radix in zip(config, self.dim_sizes):
            index = index * radix + composition_rank(exps)
        return index

    def unrank(self, index: int) -> Config:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < self.size:
            raise ValueError(f"invalid index={index!r}: must be an integer in [0, {self.size})")
        index = int(index)
        ranks = []
        for radix in reversed(self.dim_sizes):
            ranks.append(index % radix)
            index //= radix
        ranks.reverse()
        return tuple(  # type: ignore[return-value]
            composition_unrank(r, a, d) for r, a, d in zip(ranks, self.exponents, self.levels)
        )

    def __iter__(self) -> Iterator[Config]:
        """All configurations in rank order."""
        per_dim = [list(compositions(a, d)) for a, d in zip(self.exponents, self.levels)]
        for cfg in product(*per_dim):
            yield cfg  # type: ignore[misc]

    # ----- validity, conversion ----------------------------------------------------------------------
    def is_valid(self, config: object) -> bool:
        if not isinstance(config, (tuple, list)) or len(config) != 3:
            return False
        for exps, a, d in zip(config, self.exponents, self.levels):
            if not isinstance(exps, (tuple, list)) or len(exps) != d:
                return False
            if any(isinstance(e, bool) or not isinstance(e, (int, np.integer)) or e < 0 for e in exps):
                return False
            if sum(exps) != a:
                return False
        return True

    def validate(self, config: object) -> Config:
        if not self.is_valid(config):
            raise ValueError(
                f"invalid config={config!r}: must be three exponent tuples of lengths {self.levels} "
                f"summing to {self.exponents} (log2 of M, K, N)"
            )
        return tuple(tuple(int(e) for e in exps) for exps in config)  # type: ignore[return-value]

    def factors(self, config: Config) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """Tile factors (m, k, n), outermost first."""
        return tuple(tuple(1 << e for e in exps) for exps in config)  # type: ignore[return-value]

    def from_factors(self, fm: Sequence[int], fk: Sequence[int], fn: Sequence[int]) -> Config:
        exps = []
        for name, fs in (("fm", fm), ("fk", fk), ("fn", fn)):
            exps.append(tuple(_power_of_two_exponent(name, f) for f in fs))
        return self.validate(tuple(exps))

    def outer_config(self) -> Config:
        """NNI's start state: the whole extent in the outermost level, 1 elsewhere (the naive kernel)."""
        return tuple((a,) + (0,) * (d - 1) for a, d in zip(self.exponents, self.levels))  # type: ignore[return-value]

    def sample(self, rng: np.random.Generator) -> Config:
        """One configuration uniformly at random (bars-and-stars per dimension)."""
        out = []
        for a, d in zip(self.exponents, self.levels):
            bars = np.sort(rng.choice(a + d - 1, size=d - 1, replace=False)) if d > 1 else np.array([], int)
            cuts = np.concatenate(([-1], bars, [a + d - 1]))
            out.append(tuple(int(g) for g in np.diff(cuts) - 1))
        return tuple(out)  # type: ignore[return-value]

    # ----- neighbourhood -----------------------------------------------------------------------------
    def is_action_valid(self, config: Config, action: Action) -> bool:
        dim, i, _ = action
        return config[dim][i] > 0

    def step(self, config: Config, action: Action) -> Config:
        """Move one factor of 2 from slot i to slot j of one dimension; an invalid move is a no-op."""
        dim, i, j = action
        exps = config[dim]
        if exps[i] == 0:
            return config
        moved = list(exps)
        moved[i] -= 1
        moved[j] += 1
        out = list(config)
        out[dim] = tuple(moved)
        return tuple(out)  # type: ignore[return-value]

    def valid_actions(self, config: Config) -> list[Action]:
        return [a for a in self.actions if config[a[0]][a[1]] > 0]

    def neighbours(self, config: Config) -> list[Config]:
        return [self.step(config, a) for a in self.valid_actions(config)]

    def distance(self, a: Config, b: Config) -> int:
        """Minimum number of moves between two configurations (half the L1 exponent distance)."""
        return sum(abs(x - y) for ea, eb in zip(a, b) for x, y in zip(ea, eb)) // 2

    # ----- features for learned models ---------------------------------------------------------------
    def encode(self, config: Config, encoding: str = "linear") -> np.ndarray:
        """State vector of length sum(levels).

        ``linear``: factor / extent - 0.5 per slot (NNI's N-A2C); ``log2``: exponent / log2(extent) - 0.5;
        ``knob``: raw exponents (AutoTVM knob features; trees are invariant to monotone transforms).
        """
        if encoding == "linear":
            return np.array(
                [(1 << e) / (1 << a) - 0.5 for exps, a in zip(config, self.exponents) for e in exps], dtype=np.float64
            )
        if encoding == "log2":
            return np.array(
                [(e / a if a else 0.0) - 0.5 for exps, a in zip(config, self.exponents) for e in exps], dtype=np.float64
            )
        if encoding == "knob":
            return np.array([e for exps in config for e in exps], dtype=np.float64)
        raise ValueError(f"invalid encoding={encoding!r}: must be one of 'linear', 'log2', 'knob'")

    def encode_many(self, configs: Sequence[Config], encoding: str = "knob") -> np.ndarray:
        if not configs:
            return np.zeros((0, self.n_slots))
        return np.stack([self.encode(c, encoding) for c in configs])


def config_to_str(config: Config) -> str:
    """Canonical text key, e.g. ``"3,3,3|5,4|2,2,5"``."""
    return "|".join(",".join(str(e) for e in exps) for exps in config)


def config_from_str(text: str) -> Config:
    try:
        return tuple(tuple(int(e) for e in part.split(",")) for part in text.split("|"))  # type: ignore[return-value]
    except ValueError:
        raise ValueError(f"invalid config={text!r}: must look like '3,3,3|5,4|2,2,5'") from None
