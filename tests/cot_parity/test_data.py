import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quartet.cot_parity.data import (
    IGNORE_INDEX,
    FiniteSource,
    OnlineSource,
    ParityTask,
    bits_to_ints,
    ints_to_bits,
    sample_secret,
)


# The official sampler's secrets (numpy legacy RandomState seeded with 0), incl. the Fig. 3(b) secret.
@pytest.mark.parametrize(
    "n,k,expected",
    [
        (40, 20, [1, 2, 3, 7, 12, 13, 14, 16, 18, 19, 22, 24, 25, 26, 27, 29, 33, 34, 36, 38]),
        (30, 1, [2]),
        (30, 2, [2, 28]),
        (30, 3, [2, 13, 28]),
        (30, 4, [2, 10, 13, 28]),
        (20, 6, [1, 2, 11, 12, 17, 18]),
        (20, 12, [2, 3, 4, 5, 6, 8, 10, 11, 12, 13, 15, 17]),
    ],
)
def test_legacy_sampler_reproduces_official_secrets(n, k, expected):
    assert list(sample_secret(n, k, seed=0, sampler="legacy")) == expected


@given(n=st.integers(2, 60), data=st.data())
@settings(max_examples=60, deadline=None)
def test_samplers_never_pick_last_bit_and_are_sorted(n, data):
    k = data.draw(st.integers(1, n - 1))
    seed = data.draw(st.integers(0, 1000))
    for sampler in ("legacy", "random"):
        s = sample_secret(n, k, seed, sampler)
        assert len(s) == k and list(s) == sorted(set(s))
        assert n - 1 not in s and min(s) >= 0
    assert sample_secret(n, n, seed) == tuple(range(n))


def _reference_encoding(bits, secret, layout):
    """Independent, loop-based recomputation of every layout from its definition."""
    n = len(bits)
    prefix, c = [], 0
    for i in secret:
        c ^= int(bits[i])
        prefix.append(c)
    if layout == "none":
        tail = [prefix[-1]]
    elif layout == "official":
        tail = [0] + prefix
    elif layout == "paper":
        tail = prefix
    else:
        tail = []
        for p in range(n):
            tail.append(sum(int(bits[i]) for i in secret if i < p) % 2)
        tail.append(prefix[-1])
    return list(map(int, bits)) + tail


@given(n=st.integers(1, 24), data=st.data())
@settings(max_examples=80, deadline=None)
def test_layouts_match_definition(n, data):
    k = data.draw(st.integers(1, n))
    secret = data.draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True))
    layout = data.draw(st.sampled_from(["none", "official", "paper", "dense"]))
    bits = np.array(data.draw(st.lists(st.lists(st.integers(0, 1), min_size=n, max_size=n), min_size=1, max_size=4)))
    task = ParityTask(n, tuple(secret), layout)
    tokens, labels = task.encode(bits)
    expected_len = {"none": n + 1, "official": n + k + 1, "paper": n + k, "dense": 2 * n + 1}[layout]
    assert tokens.shape == labels.shape == (len(bits), expected_len) == (len(bits), task.seq_len)
    for row, tok, lab in zip(bits, tokens, labels):
        assert tok.tolist() == _reference_encoding(row, sorted(secret), layout)
        # the label of the last token is the parity of the secret bits
        assert tok[-1] == sum(int(row[i]) for i in secret) % 2 == lab[-1]
        assert (lab[:n] == IGNORE_INDEX).all() and (lab[n:] == tok[n:]).all()
        if layout == "official":
            assert tok[n] == 0  # c_0
    assert (task.answers(bits) == tokens[:, -1]).all()


def test_cot_steps_point_at_rows_that_need_one_secret_bit():
    task = ParityTask(10, (1, 4, 7), "official")
    assert task.cot_steps == [(10, 1), (11, 4), (12, 7)]
    assert ParityTask(10, (1, 4, 7), "paper").cot_steps == [(9, 1), (10, 4), (11, 7)]
    assert ParityTask(10, (1, 4, 7), "dense").cot_steps == [(11, 1), (14, 4), (17, 7)]
    assert ParityTask(10, (1, 4, 7), "none").cot_steps == []
    # the token after each step's row is the previous chain token XOR that bit
    rng = np.random.default_rng(0)
    for layout in ("official", "paper", "dense"):
        t = ParityTask(10, (1, 4, 7), layout)
        bits = rng.integers(0, 2, size=(32, 10))
        tokens, _ = t.encode(bits)
        for row, bit in t.cot_steps:
            prev = tokens[:, row] if row >= 10 else np.zeros(32, dtype=np.int64)
            assert (tokens[:, row + 1] == prev ^ bits[:, bit]).all()


@given(n=st.integers(3, 14), seed=st.integers(0, 10_000))
@settings(max_examples=30, deadline=None)
def test_validation_disjoint_from_training_small_n(n, seed):
    n_val = min(64, 2**n // 2)
    online = OnlineSource(n, n_val=n_val, seed=seed)
    val = set(bits_to_ints(online.validation).tolist())
    assert len(val) == n_val
    assert val.isdisjoint(bits_to_ints(online.next(256)).tolist())
    finite = FiniteSource(n, size=min(50, 2**n - n_val), n_val=n_val, seed=seed)
    train = bits_to_ints(finite.train).tolist()
    assert len(set(train)) == len(train) and val.isdisjoint(train)
    assert set(bits_to_ints(finite.validation).tolist()) == val


def test_validation_disjoint_large_n_and_rejection_path():
    src = OnlineSource(30, n_val=500, seed=3)
    val = set(bits_to_ints(src.validation).tolist())
    assert len(val) == 500
    assert val.isdisjoint(bits_to_ints(src.next(1000)).tolist())
    src._inputs.val_keys |= set(range(2**12))  # make rejections frequent: the source must still fill the batch
    assert len(src.next(64)) == 64
    big = FiniteSource(70, size=300, n_val=100, seed=1)  # beyond integer keys: byte keys
    keys = {r.tobytes() for r in big.train} | {r.tobytes() for r in big.validation}
    assert len(keys) == 400


def test_finite_source_epochs_cover_the_set_once_each():
    src = FiniteSource(12, size=100, n_val=50, seed=0)
    seen = bits_to_ints(np.concatenate([src.next(30) for _ in range(10)])).tolist()  # 3 epochs exactly
    assert sorted(seen) == sorted(bits_to_ints(src.train).tolist() * 3)
    assert src.epochs_started == 3


def test_lsb_first_enumeration():
    assert ints_to_bits(np.array([1, 2, 6]), 3).tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    assert bits_to_ints(ints_to_bits(np.arange(64), 6)).tolist() == list(range(64))


def test_sources_are_seeded():
    a, b = OnlineSource(20, seed=5), OnlineSource(20, seed=5)
    assert (a.validation == b.validation).all() and (a.next(8) == b.next(8)).all()
    assert not (OnlineSource(20, seed=6).validation == a.validation).all()


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: sample_secret(0, 1), "n=0"),
        (lambda: sample_secret(5, 6), "k=6"),
        (lambda: sample_secret(5, 0), "k=0"),
        (lambda: sample_secret(5, 2, sampler="magic"), "sampler='magic'"),
        (lambda: sample_secret(5, 2, seed=-1), "seed=-1"),
        (lambda: ParityTask(5, (1, 1), "official"), "duplicates"),
        (lambda: ParityTask(5, (1, 5), "official"), "secret"),
        (lambda: ParityTask(5, (), "official"), "secret"),
        (lambda: ParityTask(5, (1,), "cot"), "layout='cot'"),
        (lambda: ParityTask(5, (1,), "none").encode(np.zeros((2, 4))), "bits.shape"),
        (lambda: OnlineSource(4, n_val=16), "n_val=16"),
        (lambda: FiniteSource(4, size=10, n_val=8), "n_train=10"),
        (lambda: OnlineSource(8, n_val=10).next(0), "batch_size=0"),
    ],
)
def test_bad_arguments_are_rejected(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_registered_synthetic_dataset():
    from quartet.common.data import get_dataset

    d = get_dataset("synthetic-sparse-parity").load(n=10, k=3, n_train=100, n_val=50, seed=2)
    assert d["train_tokens"].shape == (100, 14) and d["val_tokens"].shape == (50, 14)
    assert set(map(tuple, d["train_tokens"][:, :10])).isdisjoint(map(tuple, d["val_tokens"][:, :10]))
    assert list(d["secret"]) == list(sample_secret(10, 3, seed=2))
