"""k-sparse parity with and without chain-of-thought: secrets, sequence layouts, data sources.

A task is n uniform input bits b_0..b_{n-1} and a secret set S = {i_1 < ... < i_k}; the target is
y = XOR of the secret bits. Token ids are the bit values (vocabulary {0, 1}); there is no BOS, separator
or EOS token. Labels are -100 on positions that carry no loss; the label at position p is the token at p
and the training loss shifts by one, as in any causal LM.

Layouts (c_j is the running parity of the first j secret bits, c_0 = 0):

=========  =====================================================  ========  ===========
layout     tokens                                                 length    supervised
=========  =====================================================  ========  ===========
none       b_0..b_{n-1}, y                                        n+1       1
official   b_0..b_{n-1}, c_0=0, c_1, ..., c_{k-1}, y              n+k+1     k+1
paper      b_0..b_{n-1}, c_1, ..., c_{k-1}, y                     n+k       k
dense      b_0..b_{n-1}, d_0, ..., d_{n-1}, y                     2n+1      n+1
=========  =====================================================  ========  ===========

where d_p is the parity of the secret bits strictly before position p (the official `use_long_cot`).
`official` is the released code's format; `paper` is the format written in the paper's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from quartet.common.validation import fail as _fail

Layout = Literal["none", "official", "paper", "dense"]
LAYOUTS: tuple[str, ...] = ("none", "official", "paper", "dense")
SAMPLERS: tuple[str, ...] = ("legacy", "random")
IGNORE_INDEX = -100
# Inputs are enumerated exactly (and the validation set drawn from the enumeration) up to this n.
ENUMERATE_MAX_N = 20
# Up to this n an input fits in one int64 key (bit p of the integer = input bit p, LSB first).
INT_KEY_MAX_N = 62


def _check_int(name: str, value: object, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        _fail(name, value, "must be an integer")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        _fail(name, value, f"must be an integer in [{lo}, {hi}]" if hi is not None else f"must be an integer >= {lo}")
    return value


def check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        _fail("layout", layout, f"must be one of {', '.join(LAYOUTS)}")
    return layout


# --------------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------------
def sample_secret(n: int, k: int, seed: int = 0, sampler: str = "legacy") -> tuple[int, ...]:
    """Draw the secret set S (sorted) of a k-sparse parity over n bits.

    ``legacy`` reproduces the official code exactly: ``numpy.random.RandomState(seed)``, redraw
    ``choice(n, k, replace=False)`` until the last bit n-1 is not in it (unless k == n). With seed 0 it gives
    the secrets of the paper's figures, e.g. (n=40, k=20) -> [1, 2, 3, 7, 12, ...] of Fig. 3(b).
    ``random`` draws k of range(n-1) with ``numpy.random.default_rng(seed)`` (the last bit is excluded too).
    """
    n = _check_int("n", n, 1)
    k = _check_int("k", k, 1, n)
    seed = _check_int("seed", seed, 0)
    if sampler not in SAMPLERS:
        _fail("sampler", sampler, f"must be one of {', '.join(SAMPLERS)}")
    if k == n:
        return tuple(range(n))
    if sampler == "legacy":
        rs = np.random.RandomState(seed)
        while True:
            idx = rs.choice(n, k, replace=False)
            if (n - 1) not in idx:
                return tuple(sorted(int(i) for i in idx))
    rng = np.random.default_rng(seed)
    return tuple(sorted(int(i) for i in rng.choice(n - 1, k, replace=False)))


def check_secret(n: int, secret: Sequence[int]) -> tuple[int, ...]:
    try:
        values = [int(s) for s in secret]
    except (TypeError, ValueError):
        _fail("secret", secret, "must be a sequence of distinct integers in [0, n-1]")
    if any(isinstance(s, bool) for s in secret) or len(values) == 0:
        _fail("secret", secret, "must be a non-empty sequence of distinct integers in [0, n-1]")
    if len(set(values)) != len(values):
        _fail("secret", list(secret), "must not contain duplicates")
    if min(values) < 0 or max(values) >= n:
        _fail("secret", list(secret), f"entries must lie in [0, {n - 1}] for n={n}")
    return tuple(sorted(values))


# --------------------------------------------------------------------------------------------------
# The task and its layouts
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParityTask:
    """A k-sparse parity over n bits with a fixed secret, encoded in one sequence layout."""

    n: int
    secret: tuple[int, ...]
    layout: str = "official"

    def __post_init__(self) -> None:
        _check_int("n", self.n, 1)
        object.__setattr__(self, "secret", check_secret(self.n, self.secret))
        check_layout(self.layout)

    @classmethod
    def from_seed(cls, n: int, k: int, layout: str = "official", seed: int = 0, sampler: str = "legacy") -> "ParityTask":
        check_layout(layout)
        return cls(n=n, secret=sample_secret(n, k, seed, sampler), layout=layout)

    @property
    def k(self) -> int:
        return len(self.secret)

    @property
    def seq_len(self) -> int:
        n, k = self.n, self.k
        return {"none": n + 1, "official": n + k + 1, "paper": n + k, "dense": 2 * n + 1}[self.layout]

    @property
    def supervised_positions(self) -> np.ndarray:
        """Positions whose token is a training target (the loss is read from the row before each)."""
        return np.arange(self.n, self.seq_len)

    @property
    def loss_rows(self) -> slice:
        """The query rows whose logits predict supervised tokens: n-1 .. T-2 (contiguous in every layout)."""
        return slice(self.n - 1, self.seq_len - 1)

    @property
    def cot_steps(self) -> list[tuple[int, int]]:
        """(query row, secret bit) pairs: the row that predicts a chain token which needs exactly that bit.

        Empty for ``none``. For ``official`` the row n+j-1 predicts c_j = c_{j-1} XOR b_{i_j}; for ``paper``
        it is row n+j-2; for ``dense`` row n+i predicts d_{i+1}, which needs b_i for i in S.
        """
        n, s = self.n, self.secret
        if self.layout == "official":
            return [(n + j, i) for j, i in enumerate(s)]
        if self.layout == "paper":
            return [(n - 1 + j, i) for j, i in enumerate(s)]
        if self.layout == "dense":
            return [(n + i, i) for i in s]
        return []

    def encode(self, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Token ids (B, T) int64 and labels (B, T) int64 (-100 where no loss) for input bits (B, n)."""
        bits = np.asarray(bits)
        if bits.ndim != 2 or bits.shape[1] != self.n:
            _fail("bits.shape", bits.shape, f"must be (batch, n={self.n})")
        bits = bits.astype(np.int64)
        secret_bits = bits[:, list(self.secret)]
        prefix = np.cumsum(secret_bits, axis=1) % 2  # c_1 .. c_k
        zeros = np.zeros((bits.shape[0], 1), dtype=np.int64)
        if self.layout == "none":
            tail = prefix[:, -1:]
        elif self.layout == "official":
            tail = np.concatenate([zeros, prefix], axis=1)  # c_0 .. c_k (c_k = y)
        elif self.layout == "paper":
            tail = prefix  # c_1 .. c_k
        else:  # dense: parity of secret bits strictly before p, for p = 0..n-1, then y
            mask = np.zeros(self.n, dtype=np.int64)
            mask[list(self.secret)] = 1
            before = np.cumsum(bits * mask, axis=1) % 2  # parity of secret bits at positions <= p
            tail = np.concatenate([zeros, before], axis=1)  # d_0 .. d_{n-1}, y
        tokens = np.concatenate([bits, tail], axis=1)
        labels = np.full_like(tokens, IGNORE_INDEX)
        labels[:, self.n :] = tokens[:, self.n :]
        return tokens, labels

    def answers(self, bits: np.ndarray) -> np.ndarray:
        """The parity y of each input row."""
        return np.asarray(bits, dtype=np.int64)[:, list(self.secret)].sum(axis=1) % 2


# --------------------------------------------------------------------------------------------------
# Inputs: validation set, online and finite training sources
# --------------------------------------------------------------------------------------------------
def ints_to_bits(ints: np.ndarray, n: int) -> np.ndarray:
    """Bit p of each integer (LSB first) as a (len, n) uint8 array."""
    ints = np.asarray(ints, dtype=np.int64)
    return ((ints[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(np.uint8)


def bits_to_ints(bits: np.ndarray) -> np.ndarray:
    bits = np.asarray(bits, dtype=np.int64)
    if bits.shape[1] > INT_KEY_MAX_N:
        raise ValueError(f"invalid n={bits.shape[1]}: integer keys need n <= {INT_KEY_MAX_N}")
    return (bits << np.arange(bits.shape[1], dtype=np.int64)).sum(axis=1)


def _row_keys(bits: np.ndarray) -> list[bytes]:
    return [row.tobytes() for row in np.packbits(np.asarray(bits, dtype=np.uint8), axis=1)]


def _unique_random_inputs(n: int, count: int, rng: np.random.Generator, exclude=None) -> np.ndarray:
    """``count`` distinct uniform inputs (uint8, (count, n)), none of them in ``exclude`` (a key set)."""
    out: list[np.ndarray] = []
    seen: set = set() if exclude is None else set(exclude)
    have = 0
    while have < count:
        draw = rng.integers(0, 2, size=(max(2 * (count - have), 64), n), dtype=np.uint8)
        keys = bits_to_ints(draw).tolist() if n <= INT_KEY_MAX_N else _row_keys(draw)
        for row, key in zip(draw, keys):
            if key not in seen:
                seen.add(key)
                out.append(row)
                have += 1
                if have == count:
                    break
    return np.stack(out) if out else np.zeros((0, n), dtype=np.uint8)


class _Inputs:
    """Shared validation split: validation inputs are drawn first; training never sees them."""

    def __init__(self, n: int, n_val: int, seed: int):
        self.n = _check_int("n", n, 1)
        self.n_val = _check_int("n_val", n_val, 1)
        if n <= ENUMERATE_MAX_N and n_val >= 2**n:
            _fail("n_val", n_val, f"must be < 2**n = {2**n} so that some inputs are left for training")
        self.rng = np.random.default_rng([seed, 0x5EED])
        if n <= ENUMERATE_MAX_N:
            order = self.rng.permutation(2**n)
            self.val_ints = np.sort(order[:n_val])
            self.train_pool = np.sort(order[n_val:])  # the complement, for exact disjointness
            self.validation = ints_to_bits(self.val_ints, n)
            self.val_keys = None
        else:
            self.validation = _unique_random_inputs(n, n_val, self.rng)
            self.train_pool = None
            self.val_keys = set(bits_to_ints(self.validation).tolist() if n <= INT_KEY_MAX_N else _row_keys(self.validation))


class OnlineSource:
    """Fresh uniform inputs every call (the paper's online setting), never a validation input.

    For n <= 20 inputs are drawn from the exact complement of the validation set; above that, draws that
    hit the validation set are rejected (they are rare once 2**n >> n_val).
    """

    def __init__(self, n: int, *, n_val: int = 2048, seed: int = 0):
        self._inputs = _Inputs(n, n_val, seed)
        self.n = n
        self.validation = self._inputs.validation
        self.train_size: int | None = None

    def next(self, batch_size: int) -> np.ndarray:
        batch_size = _check_int("batch_size", batch_size, 1)
        inp, rng = self._inputs, self._inputs.rng
        if inp.train_pool is not None:
            return ints_to_bits(inp.train_pool[rng.integers(0, len(inp.train_pool), size=batch_size)], self.n)
        out = np.zeros((0, self.n), dtype=np.uint8)
        while len(out) < batch_size:
            draw = rng.integers(0, 2, size=(batch_size - len(out), self.n), dtype=np.uint8)
            keys = bits_to_ints(draw).tolist() if self.n <= INT_KEY_MAX_N else _row_keys(draw)
            keep = np.array([key not in inp.val_keys for key in keys])
            out = np.concatenate([out, draw[keep]])
        return out


class FiniteSource:
    """A fixed training set of ``size`` distinct inputs, disjoint from validation, iterated in epochs that
    are reshuffled every time (as the Hugging Face Trainer's random sampler does)."""

    def __init__(self, n: int, size: int, *, n_val: int = 2048, seed: int = 0):
        self._inputs = _Inputs(n, n_val, seed)
        self.n = n
        size = _check_int("n_train", size, 1)
        self.validation = self._inputs.validation
        rng = self._inputs.rng
        if self._inputs.train_pool is not None:
            pool = self._inputs.train_pool
            if size > len(pool):
                _fail("n_train", size, f"must be <= 2**n - n_val = {len(pool)} for n={n}")
            self.train = ints_to_bits(rng.choice(pool, size=size, replace=False), n)
        else:
            self.train = _unique_random_inputs(n, size, rng, exclude=self._inputs.val_keys)
        self.train_size = size
        self._order = rng.permutation(size)
        self._cursor = 0
        self.epochs_started = 1

    def next(self, batch_size: int) -> np.ndarray:
        batch_size = _check_int("batch_size", batch_size, 1)
        rows: list[np.ndarray] = []
        need = batch_size
        while need:
            if self._cursor == len(self._order):
                self._order = self._inputs.rng.permutation(self.train_size)
                self._cursor = 0
                self.epochs_started += 1
            take = self._order[self._cursor : self._cursor + need]
            self._cursor += len(take)
            need -= len(take)
            rows.append(self.train[take])
        return np.concatenate(rows)


def make_source(n: int, *, n_train: int | None, n_val: int = 2048, seed: int = 0) -> OnlineSource | FiniteSource:
    """An online source when ``n_train`` is None, else a finite training set of that size."""
    if n_train is None:
        return OnlineSource(n, n_val=n_val, seed=seed)
    return FiniteSource(n, n_train, n_val=n_val, seed=seed)


def load_parity_dataset(n: int = 20, k: int = 6, layout: str = "official", n_train: int = 10_000,
                        n_val: int = 2_048, seed: int = 0, sampler: str = "legacy") -> dict:
    """A finite sparse-parity dataset as arrays (the paper's Fig. 4 setting by default): ``train_tokens``,
    ``train_labels``, ``val_tokens``, ``val_labels`` (int64, labels -100 where no loss) and ``secret``."""
    task = ParityTask.from_seed(n, k, layout, seed, sampler)
    source = FiniteSource(n, n_train, n_val=n_val, seed=seed)
    train_tokens, train_labels = task.encode(source.train)
    val_tokens, val_labels = task.encode(source.validation)
    return {"train_tokens": train_tokens, "train_labels": train_labels, "val_tokens": val_tokens,
            "val_labels": val_labels, "secret": list(task.secret), "layout": layout}


def _register() -> None:
    from quartet.common.data import Dataset, register_dataset

    register_dataset(Dataset(
        "synthetic-sparse-parity",
        "k-sparse parity over n uniform bits, with or without chain-of-thought tokens (Wen et al. 2025); "
        "held-out inputs disjoint from training",
        "synthetic", ["generated in-process (quartet.cot_parity.data)"], load=load_parity_dataset,
        licence="generated"))


_register()
