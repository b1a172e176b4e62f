import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from quartet.cot_parity.data import ParityTask
from quartet.cot_parity.metrics import (
    greedy_decode,
    interpretability,
    label_row_entropy,
    loss_from_logits,
    loss_on_rows,
    official_min_entropy,
    row_normalized_entropy,
    teacher_forced_exact_match,
)
from quartet.cot_parity.model import GPT, GPTConfig, model_preset

torch.set_num_threads(1)


def _tokens(task, batch=8, seed=0):
    bits = np.random.default_rng(seed).integers(0, 2, size=(batch, task.n))
    return [torch.from_numpy(a) for a in task.encode(bits)]


@pytest.mark.parametrize("layers,heads", [(1, 1), (2, 2), (3, 4)])
def test_fast_and_explicit_attention_paths_agree(layers, heads):
    task = ParityTask(10, (1, 3, 6), "official")
    model = GPT(GPTConfig(n_layer=layers, n_head=heads, n_embd=32, block_size=task.seq_len), seed=1).eval()
    tokens, _ = _tokens(task)
    fast = model(tokens)
    explicit, atts = model(tokens, return_attention=True)
    torch.testing.assert_close(fast, explicit, atol=1e-5, rtol=1e-5)
    assert len(atts) == layers
    for att in atts:
        assert att.shape == (8, heads, task.seq_len, task.seq_len)
        torch.testing.assert_close(att.sum(-1), torch.ones(8, heads, task.seq_len))  # rows sum to 1
        assert (att.triu(diagonal=1) == 0).all()  # causal: no weight on future keys


def test_model_is_causal_in_its_outputs():
    model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=16), seed=0).eval()
    a = torch.randint(0, 2, (4, 16), generator=torch.Generator().manual_seed(0))
    b = a.clone()
    b[:, 9:] = 1 - b[:, 9:]
    torch.testing.assert_close(model(a)[:, :9], model(b)[:, :9])


def test_seeded_init_is_deterministic_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    m1 = GPT(GPTConfig(n_embd=32, block_size=8), seed=7)
    after = torch.rand(1)
    m2 = GPT(GPTConfig(n_embd=32, block_size=8), seed=7)
    assert before == after
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p, q)


def test_presets():
    cpu = model_preset("cpu", n_layer=2, n_head=2, block_size=27)
    assert (cpu.n_embd, cpu.dropout, cpu.dtype, cpu.mlp_width) == (128, 0.0, "float32", 512)
    off = model_preset("official", n_layer=1, n_head=1, block_size=27)
    assert (off.n_embd, off.mlp_width, off.dropout, off.dtype) == (720, 2880, 0.1, "bfloat16")
    model = GPT(off, seed=0)
    assert next(model.parameters()).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="preset='gpu'"):
        model_preset("gpu")


@pytest.mark.parametrize(
    "kwargs,match",
    [({"n_layer": 0}, "n_layer=0"), ({"n_embd": 30, "n_head": 4}, "n_head=4"), ({"dropout": 1.0}, "dropout=1.0"),
     ({"dtype": "fp8"}, "dtype='fp8'"), ({"mlp_ratio": 0}, "mlp_ratio=0")],
)
def test_bad_model_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GPTConfig(**kwargs)


def test_too_long_sequence_rejected():
    with pytest.raises(ValueError, match="T=9"):
        GPT(GPTConfig(n_embd=16, n_head=1, block_size=8))(torch.zeros(1, 9, dtype=torch.long))


# ---------------------------------------------------------------------------------------- metrics
def test_normalized_entropy_on_hand_computed_matrices():
    T = 4
    uniform = torch.tril(torch.ones(T, T)) / torch.arange(1, T + 1).unsqueeze(1)
    ne = row_normalized_entropy(uniform)
    assert math.isnan(ne[0]) and torch.allclose(ne[1:], torch.ones(T - 1))
    one_hot = torch.eye(T)
    assert torch.allclose(row_normalized_entropy(one_hot)[1:], torch.zeros(T - 1))
    # row 2 = (1/2, 1/2, 0): entropy log 2 over log 3
    mixed = torch.tensor([[1.0, 0, 0], [0.5, 0.5, 0], [0.5, 0.5, 0]])
    assert torch.allclose(row_normalized_entropy(mixed)[1:], torch.tensor([1.0, math.log(2) / math.log(3)]))


def test_normalization_is_computed_per_call_for_each_length():
    # the official code cached log(t+1) from the first call's length; a later length must still be right
    for T in (5, 3, 9):
        uniform = torch.tril(torch.ones(T, T)) / torch.arange(1, T + 1).unsqueeze(1)
        assert torch.allclose(row_normalized_entropy(uniform)[1:], torch.ones(T - 1))


@given(st.integers(2, 7), st.integers(1, 3), st.integers(1, 3), st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_official_min_entropy_equals_brute_force(T, B, H, seed):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(B, H, T, T, generator=g, dtype=torch.float64) * 3
    att = scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), -math.inf).softmax(-1)
    got = official_min_entropy(att)
    for h in range(H):
        per_seq = []
        for b in range(B):
            values = []
            for t in range(1, T):
                e = -sum(float(p) * math.log(float(p)) for p in att[b, h, t, : t + 1] if p > 0)
                values.append(e / math.log(t + 1))
            per_seq.append(min(values))
        assert got[h].item() == pytest.approx(sum(per_seq) / B, abs=1e-9)
    rows = [1, T - 1]
    brute = row_normalized_entropy(att)[..., rows].mean(dim=(0, -1))
    torch.testing.assert_close(label_row_entropy(att, rows), brute)


def test_interpretability_counts_argmax_hits():
    att = torch.zeros(2, 1, 5, 5)
    att[:, :, :, 0] = 1.0  # default: everything on key 0
    att[0, 0, 3] = torch.tensor([0.1, 0.7, 0.2, 0.0, 0.0])  # hit bit 1 at row 3
    att[1, 0, 4] = torch.tensor([0.1, 0.1, 0.6, 0.1, 0.1])  # hit bit 2 at row 4
    hits, mass = interpretability(att, [(3, 1), (4, 2)])
    assert hits.item() == pytest.approx(0.5)
    assert mass.item() == pytest.approx((0.7 + 0.0 + 0.0 + 0.6) / 4)
    with pytest.raises(ValueError, match="steps"):
        interpretability(att, [])


@pytest.mark.parametrize("layout", ["official", "paper", "none", "dense"])
def test_teacher_forced_exact_match_equals_greedy_decoding(layout):
    task = ParityTask(6, (0, 2, 4), layout)
    model = GPT(GPTConfig(n_layer=1, n_head=1, n_embd=16, block_size=task.seq_len), seed=3).eval()
    bits = np.array([[int(c) for c in f"{i:06b}"] for i in range(64)])
    tokens, labels = (torch.from_numpy(a) for a in task.encode(bits))
    # a few steps of training on half the inputs: predictions then depend on the input, so the
    # comparison below sees both right and wrong chains (an untrained model predicts by position only)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-2)
    model.train()
    for _ in range(12):
        opt.zero_grad()
        loss_from_logits(model(tokens[::2]), labels[::2]).backward()
        opt.step()
    model.eval()
    tf = teacher_forced_exact_match(model(tokens), labels)
    decoded = greedy_decode(model, tokens[:, : task.n], task.seq_len - task.n)
    greedy = (decoded == tokens).all(dim=1)
    assert torch.equal(tf, greedy)
    assert 0 < tf.sum() < 64  # a random model gets some but not all chains right: the check is not vacuous


@pytest.mark.parametrize("layout", ["official", "none", "dense"])
def test_logits_at_loss_rows_only_match_the_full_forward(layout):
    task = ParityTask(10, (1, 3, 6), layout)
    model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=task.seq_len), seed=0).eval()
    tokens, labels = _tokens(task)
    full = model(tokens)
    rows = model(tokens, positions=task.loss_rows)
    torch.testing.assert_close(rows, full[:, task.loss_rows], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(loss_on_rows(rows, labels, task.loss_rows), loss_from_logits(full, labels))
    # with attention requested, the rows restrict only the outputs: every layer's weights cover all query rows
    row_logits, atts = model(tokens, return_attention=True, positions=task.loss_rows)
    full_logits, full_atts = model(tokens, return_attention=True)
    torch.testing.assert_close(row_logits, full_logits[:, task.loss_rows], atol=1e-5, rtol=1e-5)
    for att, full_att in zip(atts, full_atts):
        torch.testing.assert_close(att, full_att)


def test_first_layer_token_table_is_exact_in_values_and_gradients():
    task = ParityTask(10, (1, 3, 6), "official")
    tokens, labels = _tokens(task, batch=16)
    grads = []
    for use_table in (True, False):
        model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=task.seq_len), seed=4)
        model.token_table = use_table
        loss = loss_on_rows(model(tokens, positions=task.loss_rows), labels, task.loss_rows)
        loss.backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)
