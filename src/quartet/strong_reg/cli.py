"""``quartet strongreg``: train one strongly regularized net, or run the paper's experiments."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from quartet.common.cli import ClusterOpt, OutOpt, QuickOpt, SeedOpt, ThreadsOpt, WorkersOpt, echo_summary, new_app
from quartet.common.progress import console

app = new_app("strongreg", "Gradient-coherent strong L1/L2 regularization (Park et al., 2018).")
SUB = "strong_reg"
GCSR_NOTE = "gate 'coherent' = GCSR (reconstructed, direction reading): the paper's exact test is not public"


def _thetas(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"invalid theta={text!r}: must be comma-separated numbers, e.g. 1e-3,1e-4") from None
    if not values:
        raise ValueError(f"invalid theta={text!r}: must name at least one threshold")
    return values


@app.command("train")
def train_cmd(
    data: Annotated[str, typer.Option("--data", help="digits, fashion-mnist, synthetic-cifar, cifar10, cifar100, svhn.")] = "digits",
    model: Annotated[str, typer.Option("--model", help="mlp, vgg (small VGG), vgg9 (nine weight layers), vgg16 or alexnet.")] = "vgg",
    depth: Annotated[int, typer.Option("--depth", help="MLP hidden layers.")] = 2,
    width: Annotated[int, typer.Option("--width", help="MLP hidden units; the width of vgg9's two FC layers.")] = 256,
    reg: Annotated[str, typer.Option("--reg", help="none, l1 or l2.")] = "l1",
    lam: Annotated[float, typer.Option("--lam", help="Penalty strength.")] = 1e-3,
    gate: Annotated[str, typer.Option("--gate", help="always, delayed, coherent, norm-history, dominance, never.")] = "coherent",
    tau: Annotated[float, typer.Option("--tau", help="coherent: cosine threshold.")] = 0.5,
    gamma: Annotated[int, typer.Option("--gamma", help="delayed: epochs (or steps) without the penalty.")] = 2,
    gamma_unit: Annotated[str, typer.Option("--gamma-unit", help="delayed: epoch or step.")] = "epoch",
    rho: Annotated[float, typer.Option("--rho", help="norm-history: share of the running max.")] = 0.5,
    kappa: Annotated[float, typer.Option("--kappa", help="dominance: ||g_L||_1 >= kappa ||g_R||_1.")] = 1.0,
    scope: Annotated[str, typer.Option("--scope", help="global or per-layer gating.")] = "global",
    proximal: Annotated[bool, typer.Option("--proximal", help="Proximal penalty step (exact zeros for L1).")] = False,
    epochs: Annotated[int, typer.Option("--epochs")] = 30,
    lr: Annotated[float, typer.Option("--lr", help="SGD learning rate (x0.1 at 50% and 75% of the epochs).")] = 0.05,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 64,
    n_train: Annotated[Optional[int], typer.Option("--n-train", help="Stratified training subset.")] = None,
    n_test: Annotated[Optional[int], typer.Option("--n-test", help="Stratified test subset.")] = None,
    root: Annotated[Optional[str], typer.Option("--root", help="Folder with the CIFAR/SVHN files.")] = None,
    theta: Annotated[str, typer.Option("--theta", help="Sparsity thresholds, first is primary.")] = "1e-3,1e-4",
    seed: SeedOpt = 0,
    out: OutOpt = None,
    threads: ThreadsOpt = 1,
) -> None:
    """Train one model with a gated strong penalty; summary.json holds accuracy, sparsity, compression."""
    from quartet.common.runs import RunDir
    from quartet.common.seeding import set_threads

    from . import plots
    from .experiments import ExperimentResult
    from .train import TrainConfig, train

    set_threads(threads)
    cfg = TrainConfig(data=data, model=model, depth=depth, width=width, reg=reg, lam=lam, gate=gate, tau=tau,
                      gamma=gamma, gamma_unit=gamma_unit, rho=rho, kappa=kappa, scope=scope, proximal=proximal,
                      epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, n_train=n_train, n_test=n_test,
                      root=root, thetas=_thetas(theta), threads=threads).validate()
    if gate == "coherent" and reg != "none":
        console.print(GCSR_NOTE)
    name = f"train-{data}-{model}-{reg}" + ("" if reg == "none" else f"-{lam:g}-{gate}")
    rd = RunDir.create(SUB, name, cfg, out)
    result = train(cfg, on_epoch=lambda rec: rd.log(**rec))
    summary = {**result.summary(), "layer_names": result.layer_names}
    rd.write_summary(summary)
    diag = ExperimentResult("run", {}, [], {"histories": [{"label": cfg.label(), "layer_names": result.layer_names,
                                                          "history": result.history}]})
    rd.save_figure(plots.diagnostics_figure(diag), "training")
    echo_summary(rd.path, summary, ["label", "test_accuracy", "sparsity", "compression", "csr_compression",
                                    "gate_on_fraction", "collapsed", "time_s"])


def _overrides(items: list[str] | None) -> dict:
    """``["tau=0.7", "seeds=[0,1]", "data=fashion-mnist"]`` -> dict; values parse as JSON, else as text."""
    import json

    out: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"invalid set={item!r}: must look like FIELD=VALUE, e.g. tau=0.7")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        out[key.strip()] = tuple(parsed) if isinstance(parsed, list) else parsed
    return out


@app.command("experiment")
def experiment_cmd(
    name: Annotated[str, typer.Argument(help="tolerance, compression or diagnostics.")],
    quick: QuickOpt = True,
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", help="Override a preset field, e.g. --set tau=0.7 --set data=cifar10 --set root=/data.")] = None,
    seed: SeedOpt = 0,
    workers: WorkersOpt = 1,
    cluster: ClusterOpt = None,
    out: OutOpt = None,
    threads: ThreadsOpt = 1,
) -> None:
    """Run a named experiment (quick: digits on CPU in minutes; full: the reference protocol)."""
    from quartet.common.runs import RunDir
    from quartet.common.seeding import set_threads
    from quartet.common.validation import check_choice

    from . import plots
    from .experiments import EXPERIMENTS, preset, run_experiment

    check_choice("experiment", name, EXPERIMENTS)
    set_threads(threads)
    cfg = preset(name, quick, seed=seed, **_overrides(set_))
    console.print(GCSR_NOTE)
    rd = RunDir.create(SUB, f"experiment-{name}-{'quick' if quick else 'full'}", cfg, out)
    result = run_experiment(name, cfg, rd.path / "cells", workers=workers, cluster=cluster)
    for row in result.rows:
        rd.log(**row)
    summary = result.summary()
    rd.write_summary(summary)
    if "histories" in result.extra:
        rd.save_json("histories", result.extra["histories"])
    rd.save_figure(plots.FIGURES[name](result), name)
    _print_rows(result.rows)
    extra = [k for k in summary if k not in ("rows", "experiment")]
    echo_summary(rd.path, summary, ["experiment", *extra])


def _print_rows(rows: list[dict]) -> None:
    from rich.table import Table

    table = Table("setting", "accuracy", "sparsity", "compression", "on", "collapsed")
    for r in rows:
        label = r.get("label") or (f"{r['reg']} {r['lam']:g} {r['gate']}" if r["reg"] != "none" else "unregularized")
        comp = "-" if r["compression"] is None else f"{r['compression']:.1f}x"
        table.add_row(label, f"{100 * r['accuracy']:.1f}%", f"{100 * r['sparsity']:.1f}%", comp,
                      f"{r['gate_on_fraction']:.2f}", f"{r['collapsed_fraction']:.2f}")
    console.print(table)
