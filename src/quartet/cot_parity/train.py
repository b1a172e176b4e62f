"""Training on sparse parity and sample complexity, with the official recipe's semantics.

AdamW, linear decay of the learning rate to 0 over the budget (no warm-up), global grad-norm clip, causal-LM
cross-entropy averaged over supervised tokens. Every ``eval_every`` samples the model is evaluated on the
held-out inputs: teacher-forced exact match plus the attention metrics of ``metrics``. The sample complexity
is the number of samples consumed at the first evaluation whose exact match reaches ``success_threshold``;
a run that never gets there is censored ("≥ budget") and reports ``samples_to_solve = None``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch

from .data import ParityTask, make_source
from .metrics import (
    answer_accuracy,
    greedy_decode,
    interpretability,
    label_row_entropy,
    loss_on_rows,
    official_min_entropy,
    teacher_forced_exact_match,
)
from .model import GPT, GPTConfig

SCHEDULES = ("linear", "constant")


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 1e-3
    batch_size: int = 256
    budget_samples: int = 256_000
    eval_every: int = 6_400  # samples between evaluations
    n_val: int = 2_048
    n_train: int | None = None  # None: online (fresh inputs every step); else a finite training set
    data_seed: int = 0  # validation split and training inputs
    model_seed: int = 0  # initialisation
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    grad_clip: float | None = 1.0
    schedule: str = "linear"
    success_threshold: float = 1.0
    stop_on_success: bool = True
    max_seconds: float | None = None  # optional CPU-time cap (process time), checked after each step
    eval_batch_size: int = 512
    # after training, also decode the held-out chains free-running (greedy) and score them; it costs about
    # seq_len - n forward passes over the held-out set, so sweeps leave it off
    final_greedy_eval: bool = False

    def __post_init__(self) -> None:
        def positive_int(name: str, value) -> None:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"invalid {name}={value!r}: must be an integer >= 1")

        for name in ("batch_size", "budget_samples", "eval_every", "n_val", "eval_batch_size"):
            positive_int(name, getattr(self, name))
        if self.n_train is not None:
            positive_int("n_train", self.n_train)
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"invalid lr={self.lr!r}: must be a finite number > 0")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"invalid schedule={self.schedule!r}: must be one of {', '.join(SCHEDULES)}")
        if not 0.0 < self.success_threshold <= 1.0:
            raise ValueError(f"invalid success_threshold={self.success_threshold!r}: must be in (0, 1]")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"invalid grad_clip={self.grad_clip!r}: must be > 0 or None")
        if self.weight_decay < 0:
            raise ValueError(f"invalid weight_decay={self.weight_decay!r}: must be >= 0")


@dataclass
class EvalRecord:
    samples: int
    step: int
    lr: float
    train_loss: float  # mean training loss since the previous evaluation
    val_loss: float
    exact_match: float
    answer_acc: float
    official_min_entropy: list[list[float]]  # [layer][head]
    label_row_entropy: list[list[float]]  # [layer][head]
    interpretability: list[list[float]] | None  # [layer][head]; None for the no-CoT layout
    secret_mass: list[list[float]] | None  # [layer][head] mean attention on the step's secret bit
    cpu_seconds: float


@dataclass
class TrainResult:
    """What one run learned. ``samples_to_solve`` is None when censored (the budget, a time cap or a
    divergence stopped the run first)."""

    status: str  # "solved" | "budget" | "time_limit" | "diverged"
    samples_to_solve: int | None
    samples_seen: int
    final_exact_match: float
    final_answer_acc: float
    secret: tuple[int, ...]
    history: list[EvalRecord] = field(default_factory=list)
    attention_example: list | None = None  # [layer][head][row][key] CoT rows of validation sequence 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    message: str = ""
    # with TrainConfig.final_greedy_eval: the held-out share whose free-running greedy answer y is right, and
    # whose whole generated chain and answer are right (equal to the teacher-forced exact match, see metrics)
    final_greedy_answer_acc: float | None = None
    final_greedy_exact_match: float | None = None

    @property
    def solved(self) -> bool:
        return self.samples_to_solve is not None

    def summary(self) -> dict:
        last = self.history[-1] if self.history else None
        return {
            "status": self.status,
            "solved": self.solved,
            "samples_to_solve": self.samples_to_solve,
            # a censored run's sample complexity is only known to be >= the samples it saw
            "censored": self.samples_to_solve is None,
            "samples_seen": self.samples_seen,
            "final_exact_match": self.final_exact_match,
            "final_answer_acc": self.final_answer_acc,
            "final_greedy_answer_acc": self.final_greedy_answer_acc,
            "final_greedy_exact_match": self.final_greedy_exact_match,
            "secret": list(self.secret),
            "official_min_entropy": last.official_min_entropy if last else None,
            "label_row_entropy": last.label_row_entropy if last else None,
            "interpretability": last.interpretability if last else None,
            "cpu_seconds": self.cpu_seconds,
            "wall_seconds": self.wall_seconds,
            "message": self.message,
        }

    def to_dict(self) -> dict:
        out = asdict(self)
        out["solved"] = self.solved
        return out


@torch.no_grad()
def evaluate(model: GPT, task: ParityTask, bits: np.ndarray, batch_size: int = 512) -> dict:
    """Exact match, answer accuracy, loss and per-(layer, head) attention metrics on held-out ``bits``."""
    was_training = model.training
    model.eval()
    tokens_all, labels_all = (torch.from_numpy(a) for a in task.encode(bits))
    loss_rows, steps = task.loss_rows, task.cot_steps
    rows = list(range(loss_rows.start, loss_rows.stop))  # the rows that predict supervised tokens
    n = len(tokens_all)
    em = ans = loss = 0.0
    L, H = model.config.n_layer, model.config.n_head
    min_ent = torch.zeros(L, H)
    lab_ent = torch.zeros(L, H)
    hits = torch.zeros(L, H)
    mass = torch.zeros(L, H)
    for start in range(0, n, batch_size):
        tokens, labels = tokens_all[start : start + batch_size], labels_all[start : start + batch_size]
        w = len(tokens) / n
        # logits only where a supervised token is predicted (the last layer's MLP and the head skip the other
        # rows); the attention weights still cover every row of every layer
        logits, atts = model(tokens, return_attention=True, positions=loss_rows)
        em += teacher_forced_exact_match(logits, labels, loss_rows).float().mean().item() * w
        ans += answer_accuracy(logits, labels, loss_rows).float().mean().item() * w
        loss += loss_on_rows(logits, labels, loss_rows).item() * w
        for layer, att in enumerate(atts):
            min_ent[layer] += official_min_entropy(att) * w
            lab_ent[layer] += label_row_entropy(att, rows) * w
            if steps:
                h, m = interpretability(att, steps)
                hits[layer] += h * w
                mass[layer] += m * w
    model.train(was_training)
    return {
        "exact_match": em,
        "answer_acc": ans,
        "val_loss": loss,
        "official_min_entropy": min_ent.tolist(),
        "label_row_entropy": lab_ent.tolist(),
        "interpretability": hits.tolist() if steps else None,
        "secret_mass": mass.tolist() if steps else None,
    }


@torch.no_grad()
def greedy_accuracy(model: GPT, task: ParityTask, bits: np.ndarray, batch_size: int = 512) -> dict:
    """Free-running greedy decoding from the n input bits of each held-out input: the share whose generated
    answer (last token) is right, and the share whose whole generated chain and answer are right."""
    was_training = model.training
    model.eval()
    tokens_all = torch.from_numpy(task.encode(bits)[0])
    steps = task.seq_len - task.n
    n = len(tokens_all)

    def next_token_logits(seq: torch.Tensor) -> torch.Tensor:  # logits of the last row only
        return model(seq, positions=slice(seq.shape[1] - 1, seq.shape[1]))

    answer = exact = 0
    for start in range(0, n, batch_size):
        tokens = tokens_all[start : start + batch_size]
        decoded = greedy_decode(next_token_logits, tokens[:, : task.n], steps)
        answer += int((decoded[:, -1] == tokens[:, -1]).sum())
        exact += int((decoded == tokens).all(dim=1).sum())
    model.train(was_training)
    return {"greedy_answer_acc": answer / n, "greedy_exact_match": exact / n}


@torch.no_grad()
def attention_rows(model: GPT, task: ParityTask, bits: np.ndarray) -> list:
    """Attention of the rows that predict supervised tokens for one input: [layer][head][row][key]."""
    was_training = model.training
    model.eval()
    tokens, _ = task.encode(np.asarray(bits)[None, :])
    _, atts = model(torch.from_numpy(tokens), return_attention=True)
    model.train(was_training)
    return [att[0][:, task.loss_rows, :].float().tolist() for att in atts]


def train(
    task: ParityTask,
    model_config: GPTConfig,
    config: TrainConfig,
    *,
    on_eval: Callable[[EvalRecord], None] | None = None,
) -> TrainResult:
    """Train a fresh model on ``task`` and measure its sample complexity. Pure: no printing, no files;
    ``on_eval`` receives every evaluation record (e.g. to log it)."""
    if model_config.block_size < task.seq_len:
        raise ValueError(
            f"invalid block_size={model_config.block_size}: must be >= the sequence length {task.seq_len}"
        )
    wall0, cpu0 = time.perf_counter(), time.process_time()
    source = make_source(task.n, n_train=config.n_train, n_val=config.n_val, seed=config.data_seed)
    model = GPT(model_config, seed=config.model_seed)
    model.train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, betas=config.betas, eps=config.eps, weight_decay=config.weight_decay
    )
    total_steps = math.ceil(config.budget_samples / config.batch_size)
    if config.schedule == "linear":
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: max(0.0, (total_steps - t) / total_steps))
    else:
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1.0)

    history: list[EvalRecord] = []
    first_hit: int | None = None
    status, message = "budget", ""
    loss_sum, loss_count = 0.0, 0
    samples, evals_due = 0, 0
    step = 0
    metrics = None
    for step in range(1, total_steps + 1):
        tokens, labels = (torch.from_numpy(a) for a in task.encode(source.next(config.batch_size)))
        # logits only at the rows that predict supervised tokens: the same loss with less compute
        loss = loss_on_rows(model(tokens, positions=task.loss_rows), labels, task.loss_rows)
        if not torch.isfinite(loss):
            status, message = "diverged", f"non-finite training loss {loss.item()} at step {step}"
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        loss_sum += loss.item()
        loss_count += 1
        samples += config.batch_size
        out_of_time = config.max_seconds is not None and time.process_time() - cpu0 > config.max_seconds
        if samples // config.eval_every > evals_due or step == total_steps or out_of_time:
            evals_due = samples // config.eval_every
            metrics = evaluate(model, task, source.validation, config.eval_batch_size)
            record = EvalRecord(
                samples=samples,
                step=step,
                lr=optimizer.param_groups[0]["lr"],
                train_loss=loss_sum / max(loss_count, 1),
                cpu_seconds=time.process_time() - cpu0,
                **metrics,
            )
            loss_sum, loss_count = 0.0, 0
            history.append(record)
            if on_eval is not None:
                on_eval(record)
            if not math.isfinite(record.val_loss):
                status, message = "diverged", f"non-finite validation loss at {samples} samples"
                break
            if first_hit is None and record.exact_match >= config.success_threshold:
                first_hit = samples
                status = "solved"
                if config.stop_on_success:
                    break
            if out_of_time:
                if first_hit is None:
                    status, message = "time_limit", f"stopped after {record.cpu_seconds:.1f} CPU-s (max_seconds)"
                break
    if metrics is None:  # diverged before the first evaluation
        metrics = evaluate(model, task, source.validation, config.eval_batch_size)
    if status == "budget":
        message = f"not solved within {samples} samples"
    example = attention_rows(model, task, source.validation[0])
    greedy = (greedy_accuracy(model, task, source.validation, config.eval_batch_size)
              if config.final_greedy_eval else {"greedy_answer_acc": None, "greedy_exact_match": None})
    return TrainResult(
        status=status,
        samples_to_solve=first_hit,
        samples_seen=samples,
        final_exact_match=metrics["exact_match"],
        final_answer_acc=metrics["answer_acc"],
        secret=task.secret,
        history=history,
        attention_example=example,
        cpu_seconds=time.process_time() - cpu0,
        wall_seconds=time.perf_counter() - wall0,
        message=message,
        final_greedy_answer_acc=greedy["greedy_answer_acc"],
        final_greedy_exact_match=greedy["greedy_exact_match"],
    )
