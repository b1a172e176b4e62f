"""The "RNN" baseline: an LSTM controller trained with REINFORCE (NAS-style, Zoph & Le, arXiv 1611.01578).

The paper compares against an unidentified "RNN method"; TVM has no RNN tuner, so this is the controller
reading (see the reference note). The controller emits one decision per tiling slot except the last of
each dimension: the exponent of that slot, at most what is left of the dimension (larger values are
masked); the last slot takes the remainder. Reward ``log(g / g_first)`` with an exponential moving
average baseline; loss ``-sum_i (r_i - b) * sum_t log p(d_it) - entropy_coef * sum H``.
"""

from __future__ import annotations

import numpy as np

from .measure import MeasureResult
from .space import Config, TilingSpace
from .tuner import Tuner


class RNNTuner(Tuner):
    """LSTM controller over the slot exponents, trained by policy gradient on GFLOP/s.

    batch: configurations sampled per controller update. preset ``"nas"``: 2-layer LSTM, 35 units,
    lr 6e-4 (as recalled from Zoph & Le). Measured configurations are resampled up to ``max_resample``
    times; a duplicate left after that joins the update with its cached score without costing a trial.
    """

    name = "rnn"

    def __init__(self, space: TilingSpace, hidden: int = 64, layers: int = 1, embed: int = 16, lr: float = 5e-3,
                 batch: int = 8, baseline_decay: float = 0.9, entropy_coef: float = 1e-3,
                 max_resample: int = 20, grad_clip: float = 5.0, preset: str | None = None, seed: int = 0) -> None:
        super().__init__(space, seed)
        import torch

        if preset == "nas":
            hidden, layers, lr = 35, 2, 6e-4
        elif preset is not None:
            raise ValueError(f"invalid preset={preset!r}: must be None or 'nas'")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"invalid batch={batch!r}: must be an integer >= 1")
        if not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"invalid baseline_decay={baseline_decay!r}: must be in [0, 1)")
        self.torch = torch
        self.batch, self.baseline_decay, self.entropy_coef = batch, baseline_decay, entropy_coef
        self.max_resample, self.grad_clip = max_resample, grad_clip
        # decision steps: (dimension, slot) for all slots but the last of each dimension
        self.steps = [(x, i) for x, d in enumerate(space.levels) for i in range(d - 1)]
        self.n_choices = max(space.exponents) + 1
        gen = torch.Generator().manual_seed(seed)
        self.gen = gen
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.choice_embed = torch.nn.Embedding(self.n_choices + 1, embed)  # +1: "start" token
            self.step_embed = torch.nn.Embedding(max(1, len(self.steps)), embed)
            self.lstm = torch.nn.LSTM(embed, hidden, num_layers=layers)
            self.heads = torch.nn.ModuleList([torch.nn.Linear(hidden, self.n_choices) for _ in self.steps])
        self.modules = torch.nn.ModuleList([self.choice_embed, self.step_embed, self.lstm, self.heads])
        self.optimizer = torch.optim.Adam(self.modules.parameters(), lr=lr)
        self.baseline: float | None = None
        self.g_first: float | None = None
        self._samples: list[tuple[tuple[int, ...], Config]] = []  # decisions, config of the pending update
        self._pending: list[Config] = []
        self._proposed: set[Config] = set()
        self.n_updates = 0

    batch_size = property(lambda self: self.batch)  # type: ignore[assignment]

    def _run(self, decisions: "np.ndarray | None", n: int):
        """Sample ``n`` decision sequences (``decisions is None``) or score given ones.

        Returns (decisions (n, T), log-prob sums (n,), entropy sums (n,)).
        """
        torch = self.torch
        prev = torch.full((n,), self.n_choices, dtype=torch.long)
        rem = {x: torch.full((n,), a, dtype=torch.long) for x, a in enumerate(self.space.exponents)}
        state = None
        chosen, logp, ent = [], torch.zeros(n), torch.zeros(n)
        arange = torch.arange(self.n_choices)
        for t, (x, _) in enumerate(self.steps):
            inp = (self.choice_embed(prev) + self.step_embed(torch.full((n,), t, dtype=torch.long)))[None]
            out, state = self.lstm(inp, state)
            logits = self.heads[t](out[0])
            invalid = arange[None, :] > rem[x][:, None]
            log_probs = torch.log_softmax(logits.masked_fill(invalid, float("-inf")), dim=1)
            probs = log_probs.exp()
            if decisions is None:
                d = torch.multinomial(probs.detach(), 1, generator=self.gen)[:, 0]
            else:
                d = torch.as_tensor(decisions[:, t], dtype=torch.long)
            logp = logp + log_probs.gather(1, d[:, None])[:, 0]
            # masked entries: 0 * log 0 := 0, without a NaN gradient through -inf
            ent = ent - (probs * log_probs.masked_fill(invalid, 0.0)).sum(dim=1)
            rem[x] = rem[x] - d
            prev = d
            chosen.append(d)
        dec = torch.stack(chosen, dim=1) if chosen else torch.zeros((n, 0), dtype=torch.long)
        return dec, logp, ent

    def _to_config(self, decisions: tuple[int, ...]) -> Config:
        out, pos = [], 0
        for a, d in zip(self.space.exponents, self.space.levels):
            exps = list(decisions[pos:pos + d - 1])
            pos += d - 1
            out.append(tuple(exps) + (a - sum(exps),))
        return tuple(out)  # type: ignore[return-value]

    def _propose(self, n: int) -> list[Config]:
        torch = self.torch
        # a batch whose samples were all measured before only trains the controller; sample again
        for _round in range(10):
            if self._pending or self._samples:
                break
            with torch.no_grad():
                for _ in range(self.batch):
                    for _attempt in range(self.max_resample + 1):
                        dec, _, _ = self._run(None, 1)
                        decisions = tuple(int(v) for v in dec[0])
                        config = self._to_config(decisions)
                        if config not in self._proposed:
                            break
                    self._samples.append((decisions, config))
                    if config not in self._proposed:
                        self._proposed.add(config)
                        self._pending.append(config)
            if not self._pending:
                self._learn([], [], [])
        out, self._pending = self._pending[:n], self._pending[n:]
        return out

    def _learn(self, configs: list[Config], scores: list[float], results: list[MeasureResult]) -> None:
        torch = self.torch
        if not self._samples or self._pending or any(c not in self.scores for _, c in self._samples):
            return
        gains = np.array([self.scores[c] for _, c in self._samples])
        if self.g_first is None:
            positive = gains[gains > 0]
            self.g_first = float(positive.mean()) if len(positive) else 1.0
        rewards = np.log(np.maximum(gains, 1e-3 * self.g_first) / self.g_first)
        mean_r = float(rewards.mean())
        self.baseline = mean_r if self.baseline is None else (
            self.baseline_decay * self.baseline + (1 - self.baseline_decay) * mean_r)
        decisions = np.array([d for d, _ in self._samples], dtype=np.int64).reshape(len(self._samples), -1)
        _, logp, ent = self._run(decisions, len(self._samples))
        adv = torch.as_tensor(rewards - self.baseline, dtype=torch.float32)
        loss = -(adv * logp).sum() - self.entropy_coef * ent.sum()
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.modules.parameters(), self.grad_clip)
        self.optimizer.step()
        self.n_updates += 1
        self._samples = []

    def has_next(self) -> bool:
        return len(self._proposed) < self.space.size
