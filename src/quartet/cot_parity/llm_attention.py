"""Attention sparsity of a pretrained causal LM on GSM8K text with and without chain-of-thought.

The paper's protocol (its Section 5 / Figs. 6-7): for each problem, two texts without a chat template,
``CoT = question + " " + answer`` (the full rationale) and ``no-CoT = question + " The answer is N."``; run
the model with eager attention, take the normalized entropy (``metrics.row_normalized_entropy``) of each
(layer, head) over the query rows of the answer, aggregate over rows by ``min`` (the paper's) or ``mean``, and
average over problems.

The ``min`` over rows is length-biased: a CoT answer is ~17x longer than "The answer is N.", and the minimum
over more rows is mechanically smaller. So this module also reports two length-matched statistics:
``min_matched`` (the min over a random subset of the CoT rows of the no-CoT answer's size, averaged over
``draws`` seeded draws) and ``min_last_m`` (the min over the last m CoT rows).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .metrics import row_normalized_entropy

ROW_SETS = ("answer", "answer_official_offset", "predicting_answer", "all")
STATISTICS = ("min", "mean", "min_matched", "min_last_m")
SMOLLM2_NAME = "smollm2-135m"
_OFFICIAL_FINAL_RE = re.compile(r"(\d+)\s*$")


# --------------------------------------------------------------------------------------------------
# Texts
# --------------------------------------------------------------------------------------------------
def final_answer(answer: str, *, official_regex: bool = False) -> str:
    """The final answer after ``####``, with thousands separators removed and the sign kept.

    ``official_regex=True`` reproduces the official script's ``(\\d+)\\s*$``, which turns "2,125" into "125"
    and "-10" into "10" (16 of the 1,319 GSM8K test items).
    """
    if "####" not in answer:
        raise ValueError(f"invalid answer={answer[-60:]!r}: a GSM8K answer must end in '#### N'")
    if official_regex:
        match = _OFFICIAL_FINAL_RE.search(answer)
        if match is None:
            raise ValueError(f"invalid answer={answer[-60:]!r}: no trailing digits for the official regex")
        return match.group(1)
    return answer.rsplit("####", 1)[-1].strip().replace(",", "")


@dataclass(frozen=True)
class TextPair:
    """A prompt prefix and its continuation; the continuation's tokens are the answer rows."""

    prefix: str
    continuation: str

    @property
    def text(self) -> str:
        return self.prefix + self.continuation


def problem_texts(problem: dict, *, official_regex: bool = False, tokenizer=None,
                  chat_template: bool = False) -> dict[str, TextPair]:
    """The paper's two texts for one GSM8K problem: ``{"cot": ..., "nocot": ...}``.

    With ``chat_template=True`` the question becomes the user turn (rendered by the tokenizer's template with
    the generation prompt) and the answer follows as the assistant's text.
    """
    question, answer = problem["question"], problem["answer"]
    final = final_answer(answer, official_regex=official_regex)
    if chat_template:
        if tokenizer is None or getattr(tokenizer, "chat_template", None) is None:
            raise ValueError("invalid chat_template=True: the tokenizer has no chat template")
        prefix = tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                               add_generation_prompt=True)
        return {"cot": TextPair(prefix, answer), "nocot": TextPair(prefix, f"The answer is {final}.")}
    return {"cot": TextPair(question, " " + answer), "nocot": TextPair(question, f" The answer is {final}.")}


def answer_start(offsets: Sequence[tuple[int, int]], prefix_chars: int) -> int:
    """Index Q of the first token that starts at or after character ``prefix_chars`` (special tokens, whose
    span is empty, count as prompt). The space before the answer belongs to the answer's first BPE token."""
    for i, (start, end) in enumerate(offsets):
        if end > start and start >= prefix_chars:
            return i
        if end > prefix_chars > start:  # a token straddling the boundary (a merge across it) starts the answer
            return i
    raise ValueError(f"invalid prefix_chars={prefix_chars}: no token starts after the prompt")


def select_rows(row_set: str, answer_start_index: int, length: int) -> np.ndarray:
    """Query rows for a statistic. ``answer``: Q..T-1; ``answer_official_offset``: Q+1..T-1 (the official
    script's slicing); ``predicting_answer``: Q-1..T-2; ``all``: 1..T-1."""
    Q, T = answer_start_index, length
    if row_set == "answer":
        rows = np.arange(max(Q, 1), T)
    elif row_set == "answer_official_offset":
        rows = np.arange(max(Q + 1, 1), T)
    elif row_set == "predicting_answer":
        rows = np.arange(max(Q - 1, 1), T - 1)
    elif row_set == "all":
        rows = np.arange(1, T)
    else:
        raise ValueError(f"invalid row_set={row_set!r}: must be one of {', '.join(ROW_SETS)}")
    if len(rows) == 0:
        raise ValueError(f"invalid row_set={row_set!r}: selects no rows for Q={Q}, T={T}")
    return rows


# --------------------------------------------------------------------------------------------------
# Per-text entropies and per-problem statistics
# --------------------------------------------------------------------------------------------------
@torch.no_grad()
def text_entropies(model, tokenizer, pair: TextPair) -> tuple[np.ndarray, int]:
    """Normalized entropy of every (layer, head, query row) of ``pair.text`` -> ((L, H, T) float64, Q)."""
    enc = tokenizer(pair.text, return_tensors="pt", return_offsets_mapping=True)
    offsets = enc.pop("offset_mapping")[0].tolist()
    Q = answer_start(offsets, len(pair.prefix))
    out = model(**enc, output_attentions=True)
    if out.attentions is None or any(a is None for a in out.attentions):
        raise ValueError("invalid model: it returned no attention weights; load it with attn_implementation='eager'")
    att = torch.stack([a[0] for a in out.attentions]).to(torch.float64)  # (L, H, T, T)
    return row_normalized_entropy(att).numpy(), Q


def pair_statistics(ne_cot: np.ndarray, rows_cot: np.ndarray, ne_nocot: np.ndarray, rows_nocot: np.ndarray,
                    rng: np.random.Generator, draws: int = 10) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-(layer, head) statistics of one problem: ``{stat: (cot (L, H), nocot (L, H))}``.

    ``min_matched`` and ``min_last_m`` use m = the number of no-CoT rows; for the no-CoT text they equal ``min``.
    """
    cot, nocot = ne_cot[..., rows_cot], ne_nocot[..., rows_nocot]
    m = nocot.shape[-1]
    nocot_min = nocot.min(axis=-1)
    stats = {"min": (cot.min(axis=-1), nocot_min), "mean": (cot.mean(axis=-1), nocot.mean(axis=-1))}
    if cot.shape[-1] <= m:
        stats["min_matched"] = (cot.min(axis=-1), nocot_min)
    else:
        subsets = [rng.choice(cot.shape[-1], size=m, replace=False) for _ in range(draws)]
        stats["min_matched"] = (np.mean([cot[..., s].min(axis=-1) for s in subsets], axis=0), nocot_min)
    stats["min_last_m"] = (cot[..., -m:].min(axis=-1), nocot_min)
    return stats


@dataclass
class SparsityResult:
    """Dataset means per statistic and (layer, head), and the share of heads where CoT is sparser."""

    model: str
    n_problems: int
    row_set: str
    cot: dict[str, list[list[float]]]  # stat -> [layer][head]
    nocot: dict[str, list[list[float]]]
    frac_heads_cot_lower: dict[str, float]
    mean_rows: dict[str, float]  # mean number of selected rows per text, per condition
    per_problem: list[dict] = field(default_factory=list)  # per problem: its index and both row counts

    def table(self) -> list[dict]:
        return [
            {
                "statistic": s,
                "cot": float(np.mean(self.cot[s])),
                "nocot": float(np.mean(self.nocot[s])),
                "frac_heads_cot_lower": self.frac_heads_cot_lower[s],
            }
            for s in STATISTICS
        ]


def measure_sparsity(model, tokenizer, problems: Sequence[dict], *, row_set: str = "answer", draws: int = 10,
                     seed: int = 0, official_regex: bool = False, chat_template: bool = False,
                     model_name: str = "model", on_problem: Callable[[int, dict], None] | None = None
                     ) -> SparsityResult:
    """Run the paper's GSM8K attention-entropy protocol on ``problems`` (dicts with question/answer)."""
    if row_set not in ROW_SETS:
        raise ValueError(f"invalid row_set={row_set!r}: must be one of {', '.join(ROW_SETS)}")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"invalid draws={draws!r}: must be an integer >= 1")
    if len(problems) == 0:
        raise ValueError("invalid problems=[]: need at least one GSM8K problem")
    rng = np.random.default_rng(seed)
    sums: dict[str, list[np.ndarray]] = {s: [0.0, 0.0] for s in STATISTICS}  # type: ignore[misc]
    lower = {s: 0.0 for s in STATISTICS}
    rows_total = {"cot": 0, "nocot": 0}
    per_problem = []
    for index, problem in enumerate(problems):
        pairs = problem_texts(problem, official_regex=official_regex, tokenizer=tokenizer,
                              chat_template=chat_template)
        ne_cot, q_cot = text_entropies(model, tokenizer, pairs["cot"])
        ne_nocot, q_nocot = text_entropies(model, tokenizer, pairs["nocot"])
        rows_cot = select_rows(row_set, q_cot, ne_cot.shape[-1])
        rows_nocot = select_rows(row_set, q_nocot, ne_nocot.shape[-1])
        stats = pair_statistics(ne_cot, rows_cot, ne_nocot, rows_nocot, rng, draws)
        for s, (c, nc) in stats.items():
            sums[s][0] = sums[s][0] + c
            sums[s][1] = sums[s][1] + nc
        rows_total["cot"] += len(rows_cot)
        rows_total["nocot"] += len(rows_nocot)
        record = {"index": index, "rows_cot": len(rows_cot), "rows_nocot": len(rows_nocot),
                  "min_cot": float(stats["min"][0].mean()), "min_nocot": float(stats["min"][1].mean())}
        per_problem.append(record)
        if on_problem is not None:
            on_problem(index, record)
    n = len(problems)
    cot = {s: (sums[s][0] / n) for s in STATISTICS}
    nocot = {s: (sums[s][1] / n) for s in STATISTICS}
    for s in STATISTICS:
        lower[s] = float((cot[s] < nocot[s]).mean())
    return SparsityResult(
        model=model_name, n_problems=n, row_set=row_set,
        cot={s: v.tolist() for s, v in cot.items()}, nocot={s: v.tolist() for s, v in nocot.items()},
        frac_heads_cot_lower=lower, mean_rows={c: rows_total[c] / n for c in rows_total},
        per_problem=per_problem,
    )


# --------------------------------------------------------------------------------------------------
# Models, offline
# --------------------------------------------------------------------------------------------------
def _convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantise a GGUF checkpoint to a dense fp32 Hugging Face folder (GGUF models refuse save_pretrained)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quant = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32,
                                                 quantization_config=GgufConfig(dequantize=True))
    cfg = quant.config.to_dict()
    cfg.pop("quantization_config", None)
    dense = type(quant)(type(quant.config).from_dict(cfg))
    dense.load_state_dict(quant.state_dict())
    dense.save_pretrained(target)
    tok.save_pretrained(target)


def _is_converted(folder: Path) -> bool:
    return (folder / "config.json").exists() and (folder / "model.safetensors").exists() and (
        folder / "tokenizer.json").exists()


def smollm2_dir(cache: Path | None = None, gguf: Path | None = None) -> Path:
    """The dense SmolLM2-135M-Instruct folder in the cache, converted from the GGUF on first use.

    Two processes never clash: the conversion holds a file lock, writes to a temporary folder, and moves it
    into place with one atomic rename.
    """
    from quartet.common.data import cache_dir, smollm2_gguf_path

    folder = (cache or cache_dir()) / SMOLLM2_NAME
    if _is_converted(folder):
        return folder
    gguf = gguf or smollm2_gguf_path()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{SMOLLM2_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_converted(folder):  # another process may have finished while we waited
            tmp = folder.parent / f"{SMOLLM2_NAME}.tmp-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                _convert_gguf(Path(gguf), tmp)
                shutil.rmtree(folder, ignore_errors=True)  # a partial folder from an older layout
                os.replace(tmp, folder)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return folder


def load_causal_lm(name_or_path: str | os.PathLike | None = None, *, dtype: torch.dtype = torch.float32):
    """(tokenizer, model) with eager attention, offline. ``None`` or ``"smollm2-135m"``: SmolLM2-135M-Instruct
    from its GGUF (converted once into the cache); a ``.gguf`` file: loaded from it; otherwise a local Hugging
    Face folder or an already-cached Hub id (nothing is downloaded)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if name_or_path is None or str(name_or_path) == SMOLLM2_NAME:
        path, kwargs = smollm2_dir(), {}
    elif str(name_or_path).endswith(".gguf"):
        gguf = Path(name_or_path)
        if not gguf.exists():
            raise ValueError(f"invalid model={str(name_or_path)!r}: GGUF file not found")
        from transformers import GgufConfig

        path, kwargs = gguf.parent, {"gguf_file": gguf.name}
        kwargs_model = {"quantization_config": GgufConfig(dequantize=True)}
        tok = AutoTokenizer.from_pretrained(path, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation="eager",
                                                     **kwargs, **kwargs_model)
        return tok, model.eval()
    else:
        path, kwargs = name_or_path, {"local_files_only": True}
    tok = AutoTokenizer.from_pretrained(path, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation="eager", **kwargs)
    return tok, model.eval()
