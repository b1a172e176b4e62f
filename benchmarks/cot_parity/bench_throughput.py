"""Training throughput of quartet's GPT against Hugging Face GPT2LMHeadModel of identical dimensions.

Both models run in the same training loop (parity batches, causal-LM loss over supervised tokens, AdamW,
grad clip 1.0), interleaved round by round so that load on the machine hits both alike. Reports samples per
second (median over rounds), their ratio, and peak resident memory of a separate process per model.

Variants: ``quartet-plain`` does exactly the HF model's computation (logits at every position, every token
through every projection); ``quartet`` is what ``train()`` runs: the same model and loss, with the first
layer's projections of the 2 x T distinct (token, position) inputs computed once as a table, and the last
layer computing only the k+1 rows that predict supervised tokens.

    python benchmarks/cot_parity/bench_throughput.py [--layers 2 --heads 2 --width 128 --rounds 5]

Writes benchmarks/cot_parity/results/throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from quartet.cot_parity.data import OnlineSource, ParityTask  # noqa: E402
from quartet.cot_parity.metrics import loss_from_logits, loss_on_rows  # noqa: E402
from quartet.cot_parity.model import GPT, GPTConfig  # noqa: E402


KINDS = ("quartet", "quartet-plain", "hf-gpt2")


def build(kind: str, args, block: int) -> torch.nn.Module:
    if kind.startswith("quartet"):
        model = GPT(GPTConfig(n_layer=args.layers, n_head=args.heads, n_embd=args.width, block_size=block), seed=0)
        model.token_table = kind == "quartet"
        return model
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(
        vocab_size=2, n_positions=block, n_embd=args.width, n_layer=args.layers, n_head=args.heads,
        n_inner=None, activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        use_cache=False, bos_token_id=None, eos_token_id=None,
    )
    torch.manual_seed(0)
    return GPT2LMHeadModel(cfg)


def loss_of(kind: str, model, tokens, labels, rows: slice):
    if kind == "quartet":
        return loss_on_rows(model(tokens, positions=rows), labels, rows)
    logits = model(tokens) if kind == "quartet-plain" else model(input_ids=tokens).logits
    return loss_from_logits(logits, labels)


def time_steps(kind, model, opt, batches, rows) -> float:
    t0 = time.perf_counter()
    for tokens, labels in batches:
        loss = loss_of(kind, model, tokens, labels, rows)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return time.perf_counter() - t0


def make_batches(args):
    task = ParityTask.from_seed(args.n, args.k, "official", seed=0)
    source = OnlineSource(args.n, seed=0)
    batches = [tuple(torch.from_numpy(a) for a in task.encode(source.next(args.batch))) for _ in range(args.steps)]
    return task, batches


def peak_rss_self_mib() -> float:
    """VmHWM of this process (ru_maxrss would carry over the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_child(kind: str, args) -> float:
    """Peak RSS (MiB) of a fresh process that builds ``kind`` and trains it for the same steps."""
    cmd = [sys.executable, __file__, "--child", kind] + [f"--{a}={getattr(args, a)}" for a in
                                                          ("layers", "heads", "width", "batch", "steps", "n", "k")]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--child", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    task, batches = make_batches(args)
    if args.child:
        model = build(args.child, args, task.seq_len)
        time_steps(args.child, model, torch.optim.AdamW(model.parameters(), lr=1e-3), batches, task.loss_rows)
        print(peak_rss_self_mib())
        return
    kinds = KINDS
    models = {kd: build(kd, args, task.seq_len) for kd in kinds}
    opts = {kd: torch.optim.AdamW(m.parameters(), lr=1e-3) for kd, m in models.items()}
    for kd in kinds:  # warm-up
        time_steps(kd, models[kd], opts[kd], batches[:2], task.loss_rows)
    rates: dict[str, list[float]] = {kd: [] for kd in kinds}
    for r in range(args.rounds):
        for kd in (kinds if r % 2 == 0 else kinds[::-1]):  # alternate the order: no position bias
            rates[kd].append(args.batch * len(batches) / time_steps(kd, models[kd], opts[kd], batches, task.loss_rows))
    median = {kd: statistics.median(v) for kd, v in rates.items()}
    ratios = {kd: [q / h for q, h in zip(rates[kd], rates["hf-gpt2"])] for kd in ("quartet", "quartet-plain")}
    result = {
        "config": vars(args) | {"seq_len": task.seq_len, "torch": torch.__version__},
        "params": {kd: sum(p.numel() for p in m.parameters()) for kd, m in models.items()},
        "samples_per_s": rates,
        "median_samples_per_s": median,
        "ratio_vs_hf_median": {kd: statistics.median(v) for kd, v in ratios.items()},
        "ratio_vs_hf_min": {kd: min(v) for kd, v in ratios.items()},
        "peak_rss_mib": {kd: peak_rss_child(kd, args) for kd in kinds},
    }
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "throughput.json").write_text(json.dumps(result, indent=2))
    print(f"params: {result['params']}")
    for kd in kinds:
        print(f"{kd:13s} median {median[kd]:8.0f} samples/s  peak RSS {result['peak_rss_mib'][kd]:.0f} MiB")
    for kd, v in ratios.items():
        print(f"ratio {kd} / hf-gpt2: median {statistics.median(v):.2f}, min {min(v):.2f} "
              f"(per round {', '.join(f'{x:.2f}' for x in v)})")


if __name__ == "__main__":
    main()
