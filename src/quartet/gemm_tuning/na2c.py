"""N-A2C: Neighborhood Actor Advantage Critic over GEMM tilings (Zhang et al., arXiv 1909.10616).

Each round starts at the incumbent (best configuration so far). Short rollouts of neighbourhood moves
(``rollout_len`` steps, actions from the actor, epsilon-uniform exploration) collect
``batch_new_states`` configurations never measured; they are measured as one batch; then one
actor-critic update uses ``A_i = r_i + gamma * V(s'_i) - V(s_i)`` with the reward of the reached state.

The network is a small numpy MLP with hand-written backpropagation and Adam (shared ReLU layer, a
critic head and a softmax actor over the space's fixed action list), so the tuner needs no torch.

Fixed defects of the public NNI re-implementation (kept only under ``nni_compat=True``): NNI minimises
``+log pi(a|s) * A`` (wrong sign: good actions become less likely) without detaching the advantage in the
policy term, on raw GFLOP/s rewards; its rollout loop has no limit. Here the policy loss is
``-log pi(a|s) * stopgrad(A)``, rewards default to the ratio against the incumbent, and ``max_rollouts``
bounds the collection.

Start: the first incumbent is the best of 5 measured uniform samples by default; NNI's start (the naive
"outer" tiling, never measured) is ``init="outer", measure_init=False`` (see ``Tuner._start_states``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .measure import MeasureResult
from .space import Action, Config, TilingSpace
from .tuner import Tuner


@dataclass
class Adam:
    """Adam (Kingma & Ba) on a dict of numpy arrays, updated in place."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        self.t = 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        for k, g in grads.items():
            m = self.m.setdefault(k, np.zeros_like(g))
            v = self.v.setdefault(k, np.zeros_like(g))
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            m_hat = m / (1 - self.beta1**self.t)
            v_hat = v / (1 - self.beta2**self.t)
            params[k] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class ActorCritic:
    """``x -> h = relu(W1 x + b1) -> (V = wv.h + bv, pi = softmax(Wa h + ba))``, PyTorch Linear init."""

    def __init__(self, n_inputs: int, n_actions: int, hidden: int, rng: np.random.Generator) -> None:
        def linear(fan_in: int, fan_out: int) -> tuple[np.ndarray, np.ndarray]:
            bound = 1.0 / math.sqrt(fan_in)
            return rng.uniform(-bound, bound, (fan_out, fan_in)), rng.uniform(-bound, bound, fan_out)

        w1, b1 = linear(n_inputs, hidden)
        wv, bv = linear(hidden, 1)
        wa, ba = linear(hidden, n_actions)
        self.params = {"w1": w1, "b1": b1, "wv": wv, "bv": bv, "wa": wa, "ba": ba}

    def forward(self, x: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
        """Batched forward: x (B, n_inputs) -> values (B,), probabilities (B, n_actions), cache."""
        p = self.params
        pre = x @ p["w1"].T + p["b1"]
        h = np.maximum(pre, 0.0)
        values = (h @ p["wv"].T + p["bv"])[:, 0]
        logits = h @ p["wa"].T + p["ba"]
        if mask is not None:
            logits = np.where(mask, logits, -np.inf)
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        probs = e / e.sum(axis=1, keepdims=True)
        return values, probs, {"x": x, "pre": pre, "h": h}

    def backward(self, cache: dict, d_values: np.ndarray, d_logits: np.ndarray) -> dict[str, np.ndarray]:
        p = self.params
        h = cache["h"]
        grads = {
            "wv": d_values[None, :] @ h,
            "bv": np.array([d_values.sum()]),
            "wa": d_logits.T @ h,
            "ba": d_logits.sum(axis=0),
        }
        d_h = d_values[:, None] * p["wv"] + d_logits @ p["wa"]
        d_pre = d_h * (cache["pre"] > 0)
        grads["w1"] = d_pre.T @ cache["x"]
        grads["b1"] = d_pre.sum(axis=0)
        return grads


def a2c_loss_and_grads(
    net: ActorCritic,
    states: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    next_states: np.ndarray,
    *,
    gamma: float = 0.0,
    value_coef: float = 1.0,
    entropy_coef: float = 0.0,
    mask: np.ndarray | None = None,
    nni_compat: bool = False,
) -> tuple[float, dict[str, np.ndarray]]:
    """Summed A2C loss over the round's samples and its gradient with respect to ``net.params``.

    Corrected: ``sum_i -log pi(a_i|s_i) * stopgrad(A_i) + value_coef * A_i^2 - entropy_coef * H_i`` with
    ``A_i = r_i + gamma * stopgrad(V(s'_i)) - V(s_i)``. ``nni_compat``: NNI's ``sum_i log pi * A + A^2``
    with ``A = r - V`` not detached (the sign/detach bug), kept for comparison only.
    """
    values, probs, cache = net.forward(states, mask)
    idx = np.arange(len(actions))
    log_pa = np.log(probs[idx, actions])
    onehot = np.zeros_like(probs)
    onehot[idx, actions] = 1.0
    if nni_compat:
        adv = rewards - values
        loss = float(np.sum(log_pa * adv) + np.sum(adv**2))
        d_logits = adv[:, None] * (onehot - probs)
        d_values = -log_pa - 2.0 * adv
        return loss, net.backward(cache, d_values, d_logits)
    bootstrap = gamma * net.forward(next_states, mask)[0] if gamma else 0.0
    adv = rewards + bootstrap - values
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(probs > 0, probs * np.log(np.where(probs > 0, probs, 1.0)), 0.0)
        logp = np.where(probs > 0, np.log(np.where(probs > 0, probs, 1.0)), 0.0)
    entropy = -plogp.sum(axis=1)
    loss = float(np.sum(-log_pa * adv + value_coef * adv**2 - entropy_coef * entropy))
    # d(-log pi_a)/dz = pi - onehot; d(-c H)/dz = c * pi * (log pi + H)
    d_logits = -adv[:, None] * (onehot - probs) + entropy_coef * probs * (logp + entropy[:, None])
    d_values = -2.0 * value_coef * adv
    return loss, net.backward(cache, d_values, d_logits)


class NA2CTuner(Tuner):
    """Neighbourhood actor-critic tuner (defaults follow NNI where NNI defines behaviour).

    batch_new_states: new configurations per round (NNI ``n_states`` = 6).
    rollout_len: moves per rollout from the incumbent (NNI ``n_steps`` = 3).
    reward: ``"ratio"`` g / g_incumbent (default, scale-free), ``"log"`` its log, ``"raw"`` GFLOP/s (NNI).
    mask_invalid: renormalise the policy over valid moves (NNI: invalid moves are no-ops).
    encoding: state features, ``"linear"`` (NNI) or ``"log2"``.
    init, n_init: start state(s), see ``Tuner._start_states``; default the best of 5 measured random
        samples. NNI-faithful: ``init="outer", measure_init=False``.
    measure_init: measure the start states (default: exactly when ``n_init > 1``; NNI never measures it).
    """

    name = "na2c"

    def __init__(
        self,
        space: TilingSpace,
        batch_new_states: int = 6,
        rollout_len: int = 3,
        hidden: int = 128,
        lr: float = 1e-3,
        eps: float = 0.1,
        gamma: float = 0.0,
        reward: str = "ratio",
        value_coef: float = 1.0,
        entropy_coef: float = 0.0,
        mask_invalid: bool = False,
        encoding: str = "linear",
        init: str = "random",
        n_init: int | None = None,
        measure_init: bool | None = None,
        max_rollouts: int = 200,
        nni_compat: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(space, seed)
        for name, value, low in (("batch_new_states", batch_new_states, 1), ("rollout_len", rollout_len, 1),
                                 ("hidden", hidden, 1), ("max_rollouts", max_rollouts, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"invalid {name}={value!r}: must be an integer >= {low}")
        if not 0.0 <= eps <= 1.0:
            raise ValueError(f"invalid eps={eps!r}: must be in [0, 1]")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"invalid gamma={gamma!r}: must be in [0, 1]")
        if not lr > 0:
            raise ValueError(f"invalid lr={lr!r}: must be > 0")
        if reward not in ("ratio", "log", "raw"):
            raise ValueError(f"invalid reward={reward!r}: must be 'ratio', 'log' or 'raw'")
        if encoding not in ("linear", "log2"):
            raise ValueError(f"invalid encoding={encoding!r}: must be 'linear' or 'log2'")
        starts = self._start_states(init, n_init)
        if measure_init is None:  # several start states must be measured to pick the best; one need not (NNI)
            measure_init = len(starts) > 1
        if len(starts) > 1 and not measure_init:
            raise ValueError(f"invalid measure_init={measure_init!r}: must be True when n_init > 1 "
                             "(the first incumbent is the best measured start state)")
        self.batch_new_states, self.rollout_len = batch_new_states, rollout_len
        self.eps, self.gamma, self.reward = eps, gamma, "raw" if nni_compat else reward
        self.value_coef, self.entropy_coef = value_coef, entropy_coef
        self.mask_invalid, self.encoding, self.max_rollouts = mask_invalid, encoding, max_rollouts
        self.nni_compat = nni_compat
        self.net = ActorCritic(space.n_slots, space.n_actions, hidden, self.rng)
        self.optimizer = Adam(lr=lr)
        self.incumbent: Config = starts[0]  # replaced by the best start state once they are measured
        self._round: list[tuple[Config, int, Config]] = []  # (s, action index, s') of the current round
        self._to_measure: list[Config] = list(starts) if measure_init else []
        self._proposed: set[Config] = set(self._to_measure)
        self._init_pending: set[Config] = set(self._to_measure)  # start states not yet measured
        self.n_rounds = 0
        self.losses: list[float] = []

    batch_size = property(lambda self: self.batch_new_states)  # type: ignore[assignment]

    def _mask(self, configs: list[Config]) -> np.ndarray | None:
        if not self.mask_invalid:
            return None
        return np.array([[c[d][i] > 0 for d, i, _ in self.space.actions] for c in configs])

    def _policy(self, config: Config) -> np.ndarray:
        x = self.space.encode(config, self.encoding)[None, :]
        return self.net.forward(x, self._mask([config]))[1][0]

    def _collect_round(self) -> None:
        """Rollouts from the incumbent until ``batch_new_states`` unmeasured configurations are found."""
        actions: tuple[Action, ...] = self.space.actions
        batch: list[tuple[Config, int, Config]] = []
        in_batch: set[Config] = set()
        tries = 0
        while len(batch) < self.batch_new_states and tries < self.max_rollouts:
            tries += 1
            s = self.incumbent
            for _ in range(self.rollout_len):
                if self.rng.random() < self.eps:
                    a = int(self.rng.integers(len(actions)))
                else:
                    a = int(self.rng.choice(len(actions), p=self._policy(s)))
                s2 = self.space.step(s, actions[a])
                if s2 != s and s2 not in self._proposed and s2 not in in_batch:
                    batch.append((s, a, s2))
                    in_batch.add(s2)
                    if len(batch) == self.batch_new_states:
                        break
                s = s2
        self._round = batch
        self._to_measure = [s2 for _, _, s2 in batch]
        self._proposed.update(in_batch)
        if not batch:
            self.stop_reason = "neighbourhood_exhausted"

    def _propose(self, n: int) -> list[Config]:
        if not self._to_measure:
            if self._round:  # a round is still waiting for its results
                return []
            self._collect_round()
        out, self._to_measure = self._to_measure[:n], self._to_measure[n:]
        return out

    def _rewards(self, gains: np.ndarray, reference: float | None) -> np.ndarray:
        if self.reward == "raw":
            return gains
        ref = reference if reference else (gains.max() if gains.max() > 0 else 1.0)
        ratio = gains / ref
        if self.reward == "log":
            return np.log(np.maximum(ratio, 1e-3))
        return ratio

    def _learn(self, configs: list[Config], scores: list[float], results: list[MeasureResult]) -> None:
        if self._init_pending:  # measured initial states are not rollout samples
            self._init_pending.difference_update(configs)
            if not self._init_pending and self.best_config is not None:
                self.incumbent = self.best_config
            return
        if not self._round or any(s2 not in self.scores for _, _, s2 in self._round):
            return
        reference = self.scores.get(self.incumbent)
        states = np.stack([self.space.encode(s, self.encoding) for s, _, _ in self._round])
        nexts = np.stack([self.space.encode(s2, self.encoding) for _, _, s2 in self._round])
        acts = np.array([a for _, a, _ in self._round])
        gains = np.array([self.scores[s2] for _, _, s2 in self._round])
        rewards = self._rewards(gains, reference)
        mask = self._mask([s for s, _, _ in self._round])
        loss, grads = a2c_loss_and_grads(
            self.net, states, acts, rewards, nexts, gamma=self.gamma, value_coef=self.value_coef,
            entropy_coef=self.entropy_coef, mask=mask, nni_compat=self.nni_compat,
        )
        self.optimizer.step(self.net.params, grads)
        self.losses.append(loss)
        self.n_rounds += 1
        if self.best_config is not None:
            self.incumbent = self.best_config
        self._round = []

    def has_next(self) -> bool:
        return self.stop_reason is None and len(self._proposed) < self.space.size
