"""A small GPT (nanoGPT style) whose attention can return its probability matrices.

Pre-LayerNorm blocks, learned absolute positions, GELU MLP, tied input/output embeddings. Training and
plain inference go through ``scaled_dot_product_attention`` (fused, never materialises the weights); with
``return_attention=True`` every layer runs the explicit softmax(QK^T / sqrt(d_h) + causal mask) V path and
returns A[layer] of shape (batch, heads, T, T). Both paths compute the same function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float64": torch.float64}


@dataclass(frozen=True)
class GPTConfig:
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 128
    mlp_ratio: float = 4.0  # MLP width = mlp_ratio * n_embd (GPT-2: 4, i.e. 2880 for width 720)
    block_size: int = 64  # maximum sequence length (learned position table)
    vocab_size: int = 2
    dropout: float = 0.0
    bias: bool = True
    dtype: str = "float32"  # parameter dtype; "bfloat16" is pure-bf16 training as in the official runs

    def __post_init__(self) -> None:
        for name in ("n_layer", "n_head", "n_embd", "block_size", "vocab_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"invalid {name}={value!r}: must be an integer >= 1")
        if self.n_embd % self.n_head:
            raise ValueError(f"invalid n_head={self.n_head}: must divide n_embd={self.n_embd}")
        if not self.mlp_ratio > 0:
            raise ValueError(f"invalid mlp_ratio={self.mlp_ratio!r}: must be > 0")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"invalid dropout={self.dropout!r}: must be in [0, 1)")
        if self.dtype not in DTYPES:
            raise ValueError(f"invalid dtype={self.dtype!r}: must be one of {', '.join(DTYPES)}")

    @property
    def mlp_width(self) -> int:
        return int(round(self.mlp_ratio * self.n_embd))


# Width-only presets; depth, heads and block size come from the experiment.
MODEL_PRESETS: dict[str, GPTConfig] = {
    # Every reference CPU measurement used this: d=128, no dropout, fp32.
    "cpu": GPTConfig(n_embd=128, dropout=0.0, dtype="float32"),
    # The official GPT-2 setting: d=720, MLP 2880, dropout 0.1, whole model in bf16.
    "official": GPTConfig(n_embd=720, mlp_ratio=4.0, dropout=0.1, dtype="bfloat16"),
    # For tests and demos on n <= 10.
    "tiny": GPTConfig(n_embd=32, dropout=0.0, dtype="float32"),
}


def model_preset(name: str, **overrides) -> GPTConfig:
    if name not in MODEL_PRESETS:
        raise ValueError(f"invalid preset={name!r}: must be one of {', '.join(MODEL_PRESETS)}")
    return replace(MODEL_PRESETS[name], **overrides)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = cfg.dropout
        self.resid_drop = nn.Dropout(cfg.dropout)

    def split_heads(self, t: torch.Tensor) -> torch.Tensor:
        B, T, C = t.shape
        return t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, H, T, D)

    def forward(self, h: torch.Tensor | None, return_attention: bool = False, queries: slice | None = None,
                qkv: torch.Tensor | None = None):
        """``h``: the normalized input (B, T, C), or ``qkv`` (B, T, 3C) already projected. ``queries``: compute
        outputs only for these positions (a contiguous slice), attending to all earlier positions as usual.
        With ``return_attention`` the weights of every query row are returned, (B, H, T, T), whatever ``queries``
        is: the weights are cheap next to the projection and MLP that ``queries`` saves, and the sparsity metrics
        need all rows (the paper's min-entropy takes the min over every row)."""
        if qkv is not None:
            q, k, v = qkv.chunk(3, dim=-1)
            q = q if queries is None or return_attention else q[:, queries]
        elif queries is None or return_attention:
            q, k, v = self.qkv(h).chunk(3, dim=-1)
        else:  # project queries only for the requested rows, keys and values for all
            w, b = self.qkv.weight, self.qkv.bias
            C = w.shape[1]
            q = F.linear(h[:, queries], w[:C], None if b is None else b[:C])
            k, v = F.linear(h, w[C:], None if b is None else b[C:]).chunk(2, dim=-1)
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)
        T = k.size(2)
        p_drop = self.dropout if self.training else 0.0
        causal = None
        if queries is not None or return_attention:
            pos = torch.arange(T, device=k.device)
            qpos = pos if queries is None or return_attention else pos[queries]
            causal = pos.unsqueeze(0) <= qpos.unsqueeze(1)  # (R, T): key s visible to query p iff s <= p
        if return_attention:
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.size(-1)))
            att = scores.masked_fill(~causal, float("-inf")).softmax(dim=-1)
            rows = att if queries is None else att[:, :, queries]
            y = F.dropout(rows, p_drop, self.training) @ v
        else:
            att = None
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=causal, dropout_p=p_drop, is_causal=causal is None)
        B, H, R, D = y.shape
        return self.resid_drop(self.proj(y.transpose(1, 2).reshape(B, R, H * D))), att


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.fc = nn.Linear(cfg.n_embd, cfg.mlp_width, bias=cfg.bias)
        self.fc_out = nn.Linear(cfg.mlp_width, cfg.n_embd, bias=cfg.bias)
        self.mlp_drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, return_attention: bool = False, queries: slice | None = None,
                qkv: torch.Tensor | None = None):
        a, att = self.attn(self.ln_1(x) if qkv is None else None, return_attention, queries, qkv)
        x = (x if queries is None else x[:, queries]) + a
        # tanh-approximate GELU = GPT-2's "gelu_new", as one fused kernel
        x = x + self.mlp_drop(self.fc_out(F.gelu(self.fc(self.ln_2(x)), approximate="tanh")))
        return x, att


class GPT(nn.Module):
    """Causal transformer over a tiny vocabulary. ``forward(idx) -> logits (B, T, vocab)``;
    ``forward(idx, return_attention=True) -> (logits, [A_layer (B, H, T, T), ...])`` (all query rows of every
    layer, also with ``positions``)."""

    def __init__(self, cfg: GPTConfig, *, seed: int | None = None):
        super().__init__()
        self.config = cfg
        generator_state = torch.random.get_rng_state()
        if seed is not None:
            torch.manual_seed(seed)
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.token_table = True  # the first-layer lookup table of forward(); False computes it per token
        self.apply(self._init_weights)
        # GPT-2: scale the residual output projections by 1/sqrt(2 * n_layer)
        for block in self.blocks:
            for lin in (block.attn.proj, block.fc_out):
                nn.init.normal_(lin.weight, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))
        if seed is not None:
            torch.random.set_rng_state(generator_state)  # leave the caller's global stream untouched
        self.to(DTYPES[cfg.dtype])

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx: torch.Tensor, return_attention: bool = False, positions: slice | None = None):
        """Logits (B, T, vocab), or only at ``positions`` (a slice) when given: then the last layer computes
        just those rows, which is all a loss on a few supervised tokens needs (same values, fewer FLOPs)."""
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"invalid sequence length T={T}: must be <= block_size={self.config.block_size}")
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        qkv = None
        if self.token_table and self.config.vocab_size < B and not (self.training and self.config.dropout > 0):
            # The first block's ln_1 + qkv sees only vocab_size * T distinct inputs (token, position): compute
            # them once as a table and gather, instead of B * T times. Exact; gradients flow through the table.
            first = self.blocks[0]
            table = first.attn.qkv(first.ln_1(self.wte.weight[:, None, :] + self.wpe.weight[None, :T, :]))
            qkv = table[idx, pos]  # (B, T, 3C)
        attentions = []
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            x, att = block(x, return_attention, positions if i == last else None, qkv if i == 0 else None)
            attentions.append(att)
        logits = self.ln_f(x) @ self.wte.weight.t()  # tied output head
        return (logits, attentions) if return_attention else logits
