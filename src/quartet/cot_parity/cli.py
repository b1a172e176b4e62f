"""``quartet parity``: train on sparse parity, run the paper's experiments, measure an LLM's attention."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from quartet.common.cli import ClusterOpt, OutOpt, QuickOpt, SeedOpt, ThreadsOpt, WorkersOpt, echo_summary, new_app

app = new_app("parity", "Chain-of-thought and k-sparse parity (Wen et al., ICLR 2025).")
SUB = "cot_parity"


def _parse_secret(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"invalid secret={text!r}: must be comma-separated integers, e.g. 1,4,7") from None


@app.command("run")
def run(
    n: Annotated[int, typer.Option("--n", help="Number of input bits.")] = 20,
    k: Annotated[int, typer.Option("--k", help="Secret size.")] = 6,
    cot: Annotated[str, typer.Option("--cot", help="Layout: none, official, paper or dense.")] = "official",
    layers: Annotated[int, typer.Option("--layers")] = 2,
    heads: Annotated[int, typer.Option("--heads")] = 2,
    width: Annotated[Optional[int], typer.Option("--width", help="Model width (default: the preset's).")] = None,
    seed: SeedOpt = 0,
    data_seed: Annotated[Optional[int], typer.Option("--data-seed", help="Secret and split seed (default: --seed).")] = None,
    secret: Annotated[Optional[str], typer.Option("--secret", help="Explicit secret, e.g. 1,4,7.")] = None,
    budget: Annotated[int, typer.Option("--budget", help="Training samples at most.")] = 256_000,
    preset: Annotated[str, typer.Option("--preset", help="cpu (width 128, fp32) or official (720, bf16).")] = "cpu",
    lr: Annotated[Optional[float], typer.Option("--lr", help="Learning rate (default: the preset's).")] = None,
    eval_every: Annotated[Optional[int], typer.Option("--eval-every", help="Samples between evaluations.")] = None,
    n_train: Annotated[Optional[int], typer.Option("--n-train", help="Finite training set size (default: online).")] = None,
    n_val: Annotated[Optional[int], typer.Option("--n-val", help="Held-out inputs (default 2048, or 2**n/4).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Default: the preset's.")] = None,
    keep_training: Annotated[bool, typer.Option("--keep-training", help="Do not stop at the first 100%.")] = False,
    max_seconds: Annotated[Optional[float], typer.Option("--max-seconds", help="CPU-time cap.")] = None,
    out: OutOpt = None,
    threads: ThreadsOpt = 1,
) -> None:
    """Train one model on k-sparse parity and report its sample complexity and attention metrics."""
    from quartet.common.runs import RunDir
    from quartet.common.seeding import set_threads

    from . import plots
    from .experiments import ParityRunConfig, run_parity

    set_threads(threads)
    cfg = ParityRunConfig(n=n, k=k, layout=cot, layers=layers, heads=heads, preset=preset, seed=seed,
                          data_seed=data_seed, secret=_parse_secret(secret), lr=lr, budget=budget,
                          eval_every=eval_every, n_train=n_train, n_val=n_val, batch_size=batch_size, width=width, stop_on_success=not keep_training,
                          max_seconds=max_seconds).resolved()
    cfg.task()  # validate before creating the run folder
    rd = RunDir.create(SUB, f"run-n{n}-k{k}-{cot}", cfg, out)
    # teacher-forced exact match is the solve criterion; the greedy accuracies are reported beside it
    result = run_parity(cfg, on_eval=lambda rec: rd.log(**vars(rec)), final_greedy_eval=True)
    summary = {**result.summary(), "config": cfg}
    rd.write_summary(summary)
    rd.save_json("attention_example", {"rows": "query rows that predict supervised tokens",
                                        "attention": result.attention_example})
    rd.save_figure(plots.plot_run(result.history, f"n={n}, k={k}, {cot}, {layers}L{heads}H"), "training")
    echo_summary(rd.path, summary, ["status", "solved", "samples_to_solve", "samples_seen", "final_exact_match",
                                    "final_greedy_answer_acc", "secret", "cpu_seconds"])


@app.command("experiment")
def experiment(
    name: Annotated[str, typer.Argument(help="gap, k-sweep, attention, entropy-trace or llm-sparsity.")],
    quick: QuickOpt = True,
    seed: SeedOpt = 0,
    workers: WorkersOpt = 1,
    cluster: ClusterOpt = None,
    out: OutOpt = None,
    threads: ThreadsOpt = 1,
) -> None:
    """Run one of the paper's experiments (quick: minutes on 2 cores; full: the larger CPU grids)."""
    from quartet.common.runs import RunDir
    from quartet.common.seeding import set_threads

    from . import plots
    from .experiments import EXPERIMENTS, presets, result_table, run_experiment

    if name not in EXPERIMENTS:
        raise ValueError(f"invalid experiment={name!r}: must be one of {', '.join(EXPERIMENTS)}")
    set_threads(threads)
    cfg = presets(quick, seed)[name]
    rd = RunDir.create(SUB, f"{name}-{'quick' if quick else 'full'}", cfg, out)
    result = run_experiment(name, cfg, rd.path / "cells", workers=workers, cluster=cluster)
    rd.save_json("result", result)
    for stem, fig, _caption in plots.figures_for(name, result, cfg):
        rd.save_figure(fig, stem)
    table = result_table(name, result)
    rd.write_summary({"experiment": name, "quick": quick, "seed": seed,
                      "table": [dict(zip(["claim", "paper", "ours", "verdict"], row)) for row in table]})
    from quartet.common.progress import console

    for claim, _paper, ours, verdict in table:
        console.print(f"[bold]{claim}[/bold]: {ours} — {verdict}")
    console.print(f"[bold]run folder:[/bold] {rd.path}")


@app.command("llm-sparsity")
def llm_sparsity(
    model: Annotated[Optional[str], typer.Option("--model", help="HF folder, .gguf file or cached id (default: SmolLM2-135M-Instruct).")] = None,
    gsm8k_path: Annotated[Optional[str], typer.Option("--gsm8k-path", help="GSM8K parquet/jsonl.")] = None,
    n_problems: Annotated[int, typer.Option("--n-problems", help="First N problems (0: all).")] = 30,
    row_set: Annotated[str, typer.Option("--row-set", help="answer, answer_official_offset, predicting_answer, all.")] = "answer",
    draws: Annotated[int, typer.Option("--draws", help="Random subsets for the length-matched min.")] = 10,
    official_regex: Annotated[bool, typer.Option("--official-regex", help="The paper's final-answer regex.")] = False,
    chat_template: Annotated[bool, typer.Option("--chat-template", help="Wrap the question in the chat template.")] = False,
    sorted_heads: Annotated[bool, typer.Option("--sorted-heads", help="Also plot heads sorted per layer (paper's Figs. 6/7).")] = False,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    threads: ThreadsOpt = 1,
) -> None:
    """Normalized attention entropy over GSM8K answer rows, with and without CoT, incl. length-matched."""
    from quartet.common.runs import RunDir
    from quartet.common.seeding import set_threads

    from . import plots
    from .experiments import LLMConfig, llm_table
    from .experiments import llm_sparsity as run_llm

    set_threads(threads)
    if n_problems < 0:
        raise ValueError(f"invalid n_problems={n_problems}: must be >= 0 (0 means all)")
    cfg = LLMConfig(model=model, gsm8k_path=gsm8k_path, n_problems=n_problems or None, row_set=row_set,
                    draws=draws, seed=seed, official_regex=official_regex, chat_template=chat_template,
                    sorted_heads=sorted_heads)
    rd = RunDir.create(SUB, "llm-sparsity", cfg, out)
    result = run_llm(cfg, on_problem=lambda i, rec: rd.log(**rec))
    rd.save_json("result", result)
    for stem, fig, _caption in plots.figures_for("llm-sparsity", result, cfg):
        rd.save_figure(fig, stem)
    summary = {"model": result.model, "n_problems": result.n_problems, "row_set": result.row_set,
               "mean_rows": result.mean_rows, "statistics": result.table()}
    rd.write_summary(summary)
    from quartet.common.progress import console

    for row in llm_table(result):
        console.print(f"[bold]{row[0]}[/bold]: {row[2]} — {row[3]}")
    console.print(f"[bold]run folder:[/bold] {rd.path}")
