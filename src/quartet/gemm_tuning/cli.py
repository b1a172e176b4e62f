"""``quartet gemm ...``: tune one GEMM, run the paper's experiments, serve RPC measurement, manage the database."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer

from quartet.common.cli import ClusterOpt, OutOpt, QuickOpt, SeedOpt, WorkersOpt, echo_summary, new_app
from quartet.common.progress import console

app = new_app("gemm", "G-BFS / N-A2C GEMM tile search on Apache TVM (Zhang et al., arXiv 1909.10616).")

DbOpt = Annotated[Path, typer.Option("--db", help="SQLite tuning database (created if missing).")]
LevelsOpt = Annotated[str, typer.Option("--levels", help="Tiling levels d_m,d_k,d_n, e.g. 3,2,3.")]
ThreadsOpt = Annotated[int, typer.Option("--threads", min=1, help="Threads of the TVM kernels and of numpy.")]


def _levels(text: str) -> tuple[int, int, int]:
    try:
        levels = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"invalid levels={text!r}: must be three integers like 3,2,3") from None
    if len(levels) != 3:
        raise ValueError(f"invalid levels={text!r}: must be three integers like 3,2,3")
    return levels  # type: ignore[return-value]


def _size(text: str) -> tuple[int, int, int]:
    try:
        size = tuple(int(x) for x in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"invalid size={text!r}: must look like 512x512x512 (M x N x K)") from None
    if len(size) != 3:
        raise ValueError(f"invalid size={text!r}: must look like 512x512x512 (M x N x K)")
    return size  # type: ignore[return-value]


@app.command()
def tune(
    m: Annotated[int, typer.Option("--m", help="Rows of A and C (power of two).")] = 512,
    n: Annotated[int, typer.Option("--n", help="Columns of B and C (power of two).")] = 512,
    k: Annotated[int, typer.Option("--k", help="Reduction length (power of two).")] = 512,
    tuner: Annotated[str, typer.Option("--tuner", help=(
        "gbfs | na2c | random | grid | ga | xgb | rnn | gbfs-nni | na2c-nni (NNI's naive 'outer' start)"))] = "gbfs",
    trials: Annotated[int, typer.Option("--trials", min=1, help="Trial budget.")] = 100,
    levels: LevelsOpt = "3,2,3",
    backend: Annotated[str, typer.Option("--backend", help="tvm | analytic | replay (from --db)")] = "tvm",
    replay_target: Annotated[Optional[str], typer.Option(
        "--replay-target", help="Target key of the recorded table to replay (see `quartet gemm db-info`).")] = None,
    threads: ThreadsOpt = 1,
    seed: SeedOpt = 0,
    db: DbOpt = Path("runs/gemm_tuning/tuning.sqlite"),
    out: OutOpt = None,
) -> None:
    """Tune one GEMM with one tuner; write config.json, metrics.jsonl, summary.json and a figure."""
    from quartet.common.plotting import new_figure
    from quartet.common.runs import RunDir

    from .database import CachedMeasurer, ReplayMeasurer, TuningDatabase
    from .experiments import TUNERS, make_tuner
    from .measure import AnalyticMeasurer
    from .space import TilingSpace
    from .tuner import tune as run_tune

    if tuner not in TUNERS:
        raise ValueError(f"invalid tuner={tuner!r}: must be one of {', '.join(TUNERS)}")
    if backend not in ("tvm", "analytic", "replay"):
        raise ValueError(f"invalid backend={backend!r}: must be 'tvm', 'analytic' or 'replay'")
    space = TilingSpace(m, n, k, _levels(levels))
    config = {"M": m, "N": n, "K": k, "levels": space.levels, "tuner": tuner, "trials": trials, "seed": seed,
              "backend": backend, "threads": threads, "db": str(db), "space_size": space.size}
    database = TuningDatabase(db)
    if backend == "tvm":
        from .tvm_measure import LocalTVMMeasurer

        measurer = CachedMeasurer(LocalTVMMeasurer(space, threads=threads, seed=0), database)
        config["template"] = asdict(measurer.inner.template)
    elif backend == "analytic":
        measurer = AnalyticMeasurer(space, seed=seed, ruggedness=0.5)
    else:
        keys = [t for w, t, _ in database.keys() if w == space.signature()]
        target = replay_target or (keys[0] if len(keys) == 1 else None)
        if target is None:
            raise ValueError(f"invalid replay-target={replay_target!r}: choose one of {keys or 'none recorded'}")
        measurer = ReplayMeasurer.from_database(database, space, target)
    config["target"] = measurer.target_key
    run = RunDir.create("gemm_tuning", f"tune-{tuner}-{m}x{n}x{k}", config, out=out)
    console.print(f"tuning {space.signature()} (|S| = {space.size}) with {tuner}, {trials} trials")

    def log(rec) -> None:
        run.log(trial=rec.trial, config=[list(e) for e in rec.config], time_s=rec.time_s if rec.error is None else None,
                gflops=rec.gflops, error=rec.error, best_time_s=rec.best_time_s, wall_s=rec.wall_s, cost_s=rec.cost_s)

    with measurer:
        result = run_tune(make_tuner(tuner, space, seed, trials), measurer, trials, callbacks=[log])
        summary = result.summary()
        if backend == "tvm" and result.best_config is not None:
            check = measurer.inner.verify(result.best_config)  # the final best always matches numpy
            summary["best_verified_against_numpy"] = check.ok
            if not check.ok:
                raise RuntimeError(f"the best kernel failed verification: {check.error}")
    summary["target"] = measurer.target_key
    summary["best_factors"] = [list(f) for f in space.factors(result.best_config)] if result.best_config else None
    run.write_summary(summary)
    fig, ax = new_figure()
    ax.plot(range(1, result.trials + 1), result.best_curve() * 1e3)
    ax.set_yscale("log")
    ax.set_xlabel("trials")
    ax.set_ylabel("best time (ms)")
    ax.set_title(f"{tuner} on {m}x{n}x{k}")
    run.save_figure(fig, "best_time_vs_trials")
    echo_summary(run.path, summary, ["best_time_s", "best_gflops", "best_factors", "trials", "fraction_explored",
                                     "failed_trials", "stop_reason"])


@app.command()
def experiment(
    name: Annotated[str, typer.Argument(help="compare | exhaustive")],
    quick: QuickOpt = True,
    size: Annotated[Optional[list[str]], typer.Option(
        "--size", help="MxNxK (repeatable); overrides the preset.")] = None,
    levels: Annotated[Optional[str], typer.Option("--levels", help="d_m,d_k,d_n; overrides the preset.")] = None,
    budget: Annotated[Optional[int], typer.Option("--budget", min=1, help="compare: trials per run.")] = None,
    seeds: Annotated[Optional[int], typer.Option("--seeds", min=1, help="Number of seeds.")] = None,
    tuners: Annotated[Optional[str], typer.Option("--tuners", help="Comma-separated tuner names.")] = None,
    threads: ThreadsOpt = 1,
    db: DbOpt = Path("runs/gemm_tuning/tuning.sqlite"),
    seed: SeedOpt = 0,
    workers: WorkersOpt = 1,
    cluster: ClusterOpt = None,
    out: OutOpt = None,
) -> None:
    """Run a named experiment (quick or paper-scale preset) into a run folder."""
    from quartet.common.runs import RunDir, to_jsonable

    from . import plots
    from .experiments import (CompareConfig, ExhaustiveConfig, claims_table, compare_summary, exhaustive_claims,
                              exhaustive_rows, run_compare, run_exhaustive)

    if name not in ("compare", "exhaustive"):
        raise ValueError(f"invalid name={name!r}: must be 'compare' or 'exhaustive'")
    overrides: dict = {"db": str(db), "threads": threads}
    if levels:
        overrides["levels"] = _levels(levels)
    if seeds:
        overrides["seeds"] = [seed + i for i in range(seeds)]
    if tuners:
        overrides["tuners"] = [t.strip() for t in tuners.split(",") if t.strip()]
    if name == "compare":
        if size:
            overrides["sizes"] = [_size(s) for s in size]
        if budget:
            overrides["budget"] = budget
        cfg = CompareConfig.preset(quick, **overrides).validate()
        run = RunDir.create("gemm_tuning", "compare", cfg, out=out)
        result = run_compare(cfg, run.path / "cells", workers=workers, cluster=cluster)
        run.save_json("result", to_jsonable(asdict(result)))
        summary = compare_summary(result, None)
        summary["claims"] = claims_table(summary)
        summary["elapsed_s"] = result.elapsed_s
        run.write_summary(summary)
        run.save_figure(plots.best_time_vs_trials(result), "compare_trials")
        run.save_figure(plots.best_time_vs_search_time(result), "compare_search_time")
        run.save_figure(plots.gflops_vs_numpy(result), "compare_vs_numpy")
        for row in summary["compare"]:
            run.log(**row)
        echo_summary(run.path, {r["size"] + " " + r["tuner"]: f"{r['gflops']:.1f} GFLOP/s = {r['vs_numpy']:.2f}x numpy"
                                for r in summary["compare"]})
    else:
        if size:
            if len(size) != 1:
                raise ValueError(f"invalid size={size!r}: exhaustive takes one size")
            overrides["size"] = _size(size[0])
        cfg = ExhaustiveConfig.preset(quick, **overrides)
        cfg.space()  # validates size and levels
        run = RunDir.create("gemm_tuning", "exhaustive", cfg, out=out)
        from quartet.common.progress import progress_bar

        with progress_bar("measure space", total=cfg.space().size) as advance:
            result = run_exhaustive(cfg, progress=advance)
        run.save_json("result", to_jsonable(asdict(result)))
        table = result.regret_table()
        for row in table:
            run.log(**row)
        summary = result.summary()
        summary["claims"] = exhaustive_claims(summary)
        run.write_summary(summary)
        run.save_figure(plots.regret_vs_budget(result), "exhaustive_regret")
        echo_summary(run.path, {row[0]: " ".join(row[1:]) for row in
                                [["budgets", *map(str, cfg.budgets()), "first<=5%"], *exhaustive_rows(result)]})


def _serve_until_interrupted(process) -> None:
    """Keep a TVM RPC tracker or server (which runs in its own process) alive until Ctrl-C."""
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        process.terminate()


@app.command("rpc-tracker")
def rpc_tracker(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="First port to try.")] = 9190,
) -> None:
    """Run a TVM RPC tracker until interrupted (servers register with it, measurers request them)."""
    from .tvm_measure import start_tracker

    tracker = start_tracker(host, port, port + 100)
    console.print(f"tracker listening on {host}:{tracker.port}; Ctrl-C to stop")
    _serve_until_interrupted(tracker)


@app.command("rpc-server")
def rpc_server(
    tracker: Annotated[str, typer.Option("--tracker", help="Tracker address HOST:PORT.")],
    key: Annotated[str, typer.Option("--key", help="Device key measurers request (e.g. the CPU name).")],
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "0.0.0.0",
    port: Annotated[int, typer.Option("--port", help="First port to try.")] = 9300,
) -> None:
    """Run a TVM RPC server registered with a tracker until interrupted."""
    from .tvm_measure import start_server

    t_host, _, t_port = tracker.rpartition(":")
    if not t_host or not t_port.isdigit():
        raise ValueError(f"invalid tracker={tracker!r}: must be HOST:PORT")
    server = start_server(t_host, int(t_port), key, host=host, port=port, port_end=port + 100)
    console.print(f"server on {host}:{server.port} registered as {key!r} with {tracker}; Ctrl-C to stop")
    _serve_until_interrupted(server)


@app.command("db-info")
def db_info(db: DbOpt = Path("runs/gemm_tuning/tuning.sqlite")) -> None:
    """List the recorded tables (workload, target, rows)."""
    from .database import TuningDatabase

    if not db.exists():
        raise ValueError(f"invalid db={str(db)!r}: no such file")
    with TuningDatabase(db) as database:
        for workload, target, count in database.keys():
            console.print(f"{workload}  {target}  {count} rows")


@app.command("db-export")
def db_export(path: Annotated[Path, typer.Argument(help="JSON-lines file to write.")],
              db: DbOpt = Path("runs/gemm_tuning/tuning.sqlite")) -> None:
    """Export every measurement as JSON lines."""
    from .database import TuningDatabase

    with TuningDatabase(db) as database:
        console.print(f"exported {database.export_jsonl(path)} rows to {path}")


@app.command("db-import")
def db_import(path: Annotated[Path, typer.Argument(help="JSON-lines file to read.")],
              db: DbOpt = Path("runs/gemm_tuning/tuning.sqlite")) -> None:
    """Import measurements from JSON lines (existing rows are kept)."""
    from .database import TuningDatabase

    if not path.exists():
        raise ValueError(f"invalid path={str(path)!r}: no such file")
    with TuningDatabase(db) as database:
        console.print(f"imported {database.import_jsonl(path)} new rows into {db}")


@app.command()
def space(
    m: Annotated[int, typer.Option("--m")] = 512,
    n: Annotated[int, typer.Option("--n")] = 512,
    k: Annotated[int, typer.Option("--k")] = 512,
    levels: LevelsOpt = "3,2,3",
) -> None:
    """Size of the tiling space, its neighbourhood and what 0.1% of it is."""
    from .space import TilingSpace

    s = TilingSpace(m, n, k, _levels(levels))
    console.print(f"{s.signature()}: |S| = {s.size:,} (per dimension m, k, n: {s.dim_sizes}); "
                  f"{s.n_actions} neighbourhood moves; 0.1% = {s.size / 1000:.1f} configurations")


@app.command("numpy-ref")
def numpy_ref(
    m: Annotated[int, typer.Option("--m")] = 512,
    n: Annotated[int, typer.Option("--n")] = 512,
    k: Annotated[int, typer.Option("--k")] = 512,
    threads: ThreadsOpt = 1,
    out: OutOpt = None,
) -> None:
    """Time numpy/OpenBLAS at one size (min of 10), the speed reference."""
    from quartet.common.runs import RunDir

    from .reference import numpy_gemm

    ref = numpy_gemm(m, n, k, threads=threads)
    run = RunDir.create("gemm_tuning", f"numpy-{m}x{n}x{k}", {"M": m, "N": n, "K": k, "threads": threads}, out=out)
    summary = {"time_s": ref.time_s, "gflops": ref.gflops, "times_s": ref.times_s, "numpy": ref.numpy_version,
               "blas": ref.blas}
    run.write_summary(summary)
    echo_summary(run.path, summary, ["time_s", "gflops", "numpy"])


@app.command()
def anchor(
    m: Annotated[int, typer.Option("--m")] = 512,
    n: Annotated[int, typer.Option("--n")] = 512,
    k: Annotated[int, typer.Option("--k")] = 512,
    trials: Annotated[int, typer.Option("--trials", min=1)] = 64,
    timeout_s: Annotated[float, typer.Option(
        "--timeout-s", help="Wall-clock limit of the whole MetaSchedule search; then it is killed.")] = 600.0,
    builder_timeout_s: Annotated[float, typer.Option(
        "--builder-timeout-s", help="MetaSchedule builder and runner timeout per batch.")] = 180.0,
    builder_workers: Annotated[int, typer.Option(
        "--builder-workers", min=1, help="MetaSchedule builder processes (1: see run_metaschedule).")] = 1,
    threads: ThreadsOpt = 1,
    seed: SeedOpt = 0,
    out: OutOpt = None,
) -> None:
    """Run TVM's MetaSchedule on the same GEMM (external anchor; slow worker start-up).

    The search runs in a child process bounded by --timeout-s; summary.json always records the outcome
    (status ok / timeout / error); the command exits 1 when MetaSchedule did not finish.
    """
    from quartet.common.runs import RunDir

    from .metaschedule import run_metaschedule_bounded
    from .reference import numpy_gemm

    for name, value in (("m", m), ("n", n), ("k", k)):
        if value < 1:
            raise ValueError(f"invalid {name}={value!r}: must be an integer >= 1")
    run = RunDir.create("gemm_tuning", f"metaschedule-{m}x{n}x{k}",
                        {"M": m, "N": n, "K": k, "trials": trials, "threads": threads, "seed": seed,
                         "timeout_s": timeout_s, "builder_timeout_s": builder_timeout_s,
                         "builder_workers": builder_workers}, out=out)
    summary = run_metaschedule_bounded(m, n, k, trials=trials, work_dir=str(run.path / "ms"), seed=seed,
                                       threads=threads, timeout_s=timeout_s, builder_timeout_s=builder_timeout_s,
                                       builder_workers=builder_workers)
    if summary["status"] == "ok":
        ref = numpy_gemm(m, n, k, threads=threads)
        summary.update(numpy_gflops=ref.gflops, vs_numpy=ref.time_s / summary["best_time_s"])
    run.write_summary(summary)
    if summary["status"] != "ok":
        console.print(f"MetaSchedule anchor {summary['status']}: {summary['error']} (summary: {run.path})")
        raise typer.Exit(1)
    echo_summary(run.path, summary, ["best_time_s", "gflops", "numpy_gflops", "vs_numpy", "search_time_s", "wall_s"])
