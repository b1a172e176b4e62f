"""Named experiments of the GEMM tuning paper: ``compare`` and ``exhaustive``, plus ``reproduce``.

compare: every tuner x seed at a trial budget on several GEMM sizes, measured on real TVM through one
    shared tuning database; best time against trials and search time, fraction of the space explored,
    savings against ``xgb`` and ``rnn`` (the form of the paper's 24% / 40% claims), and the best kernels
    re-timed side by side with numpy/OpenBLAS (same threads).
exhaustive: measure a whole space once (resumable), then replay every tuner on the recorded table and
    report its regret against the true optimum at several budgets.
"""

from __future__ import annotations

import atexit
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from .baselines import GATuner, GridSearchTuner, RandomTuner
from .database import CachedMeasurer, ReplayMeasurer, TuningDatabase
from .gbfs import GBFSTuner
from .kernels import KernelTemplate
from .measure import AnalyticMeasurer, Measurer
from .na2c import NA2CTuner
from .space import Config, TilingSpace, config_from_str, config_to_str
from .tuner import RANDOM_STARTS, Tuner, TuneResult, tune

# "gbfs-nni" / "na2c-nni": the same tuners started as NNI does, from the naive "outer" state (kept to show
# what the project's default start, the best of 5 measured random samples, changes; see Tuner._start_states)
NNI_START = {"gbfs-nni": ("gbfs", {"init": "outer"}), "na2c-nni": ("na2c", {"init": "outer", "measure_init": False})}
TUNERS = ("gbfs", "na2c", "random", "grid", "ga", "xgb", "rnn", *NNI_START)
PAPER_TUNERS = ("gbfs", "na2c", "random", "ga", "xgb", "rnn")
DEFAULT_DB = Path("runs/gemm_tuning/tuning.sqlite")
PAPER = ("Zhang, Cheng, Zang, Park: Compiler-Level Matrix Multiplication Optimization for Deep Learning "
         "(arXiv 1909.10616)")


def make_tuner(name: str, space: TilingSpace, seed: int, budget: int, **options) -> Tuner:
    """A tuner by name with the project's defaults (recorded in every experiment config).

    ``xgb`` uses plan_size 16 below 200 trials (so the model acts at all), else AutoTVM's 64.
    ``gbfs-nni`` / ``na2c-nni`` start from NNI's naive "outer" state instead of the best of random samples.
    """
    if name in NNI_START:
        base, start = NNI_START[name]
        tuner = make_tuner(base, space, seed, budget, **{**start, **options})
        tuner.name = name
        return tuner
    if name == "gbfs":
        return GBFSTuner(space, seed=seed, **options)
    if name == "na2c":
        return NA2CTuner(space, seed=seed, **options)
    if name == "random":
        return RandomTuner(space, seed=seed)
    if name == "grid":
        return GridSearchTuner(space, seed=seed)
    if name == "ga":
        return GATuner(space, seed=seed, **options)
    if name == "xgb":
        options.setdefault("plan_size", 16 if budget < 200 else 64)
        from .xgb import XGBTuner

        return XGBTuner(space, seed=seed, **options)
    if name == "rnn":
        from .rnn import RNNTuner

        return RNNTuner(space, seed=seed, **options)
    raise ValueError(f"invalid tuner={name!r}: must be one of {', '.join(TUNERS)}")


# ----------------------------------------------------------------------------------------------------
# measurers shared by the cells of one process (a TVM worker starts once, not once per cell)

_MEASURERS: dict[tuple, Measurer] = {}


def _close_measurers() -> None:
    for m in _MEASURERS.values():
        m.close()
    _MEASURERS.clear()


atexit.register(_close_measurers)


def shared_measurer(space: TilingSpace, backend: str, db_path: str | None, threads: int = 1,
                    template: KernelTemplate = KernelTemplate(), seed: int = 0) -> Measurer:
    """The process-wide measurer for (space, back end, database): TVM behind the database cache."""
    key = (space, backend, db_path, threads, template, seed)
    if key not in _MEASURERS:
        if backend == "tvm":
            from .tvm_measure import LocalTVMMeasurer

            inner: Measurer = LocalTVMMeasurer(space, template=template, threads=threads)
        elif backend == "analytic":
            inner = AnalyticMeasurer(space, seed=seed, ruggedness=0.5, noise=0.05)
        else:
            raise ValueError(f"invalid backend={backend!r}: must be 'tvm' or 'analytic'")
        _MEASURERS[key] = CachedMeasurer(inner, TuningDatabase(db_path)) if db_path else inner
    return _MEASURERS[key]


def _distinct_curve(result: TuneResult) -> list[int]:
    seen: set[Config] = set()
    out = []
    for h in result.history:
        seen.add(h.config)
        out.append(len(seen))
    return out


def _history_payload(result: TuneResult) -> dict:
    return {
        **result.summary(),
        "best_curve": [t if math.isfinite(t) else None for t in result.best_curve().tolist()],
        "search_time": result.search_time_curve().tolist(),
        "distinct_curve": _distinct_curve(result),
        "configs": [config_to_str(h.config) for h in result.history],
    }


# ----------------------------------------------------------------------------------------------------
# compare


@dataclass
class CompareConfig:
    sizes: list[tuple[int, int, int]] = field(default_factory=lambda: [(256, 256, 256)])  # (M, N, K)
    levels: tuple[int, int, int] = (3, 2, 3)
    tuners: list[str] = field(default_factory=lambda: list(PAPER_TUNERS))
    seeds: list[int] = field(default_factory=lambda: [0, 1])
    budget: int = 24
    backend: str = "tvm"
    db: str = str(DEFAULT_DB)
    threads: int = 1
    template: KernelTemplate = field(default_factory=KernelTemplate)
    final_repeat: int = 10
    final_rounds: int = 3

    @classmethod
    def preset(cls, quick: bool, **overrides) -> "CompareConfig":
        base = cls() if quick else cls(
            sizes=[(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (512, 1024, 1024)],
            seeds=[0, 1, 2], budget=300)
        return replace(base, **overrides)

    def validate(self) -> "CompareConfig":
        for name in self.tuners:
            if name not in TUNERS:
                raise ValueError(f"invalid tuners={self.tuners!r}: each must be one of {', '.join(TUNERS)}")
        if not self.sizes:
            raise ValueError("invalid sizes=[]: give at least one (M, N, K)")
        for M, N, K in self.sizes:
            TilingSpace(M, N, K, self.levels)
        if self.budget < 1:
            raise ValueError(f"invalid budget={self.budget!r}: must be an integer >= 1")
        if self.backend not in ("tvm", "analytic"):
            raise ValueError(f"invalid backend={self.backend!r}: must be 'tvm' or 'analytic'")
        return self


def compare_cell(cell: dict) -> dict:
    """One (size, tuner, seed) tuning run; module-level so sweeps can ship it to processes or Dask."""
    M, N, K = cell["size"]
    space = TilingSpace(M, N, K, tuple(cell["levels"]))
    template = KernelTemplate(**cell["template"])
    measurer = shared_measurer(space, cell["backend"], cell["db"], cell["threads"], template)
    tuner = make_tuner(cell["tuner"], space, cell["seed"], cell["budget"])
    result = tune(tuner, measurer, cell["budget"])
    return _history_payload(result)


def retime_side_by_side(space: TilingSpace, configs: Sequence[Config], *, threads: int, template: KernelTemplate,
                        repeat: int, rounds: int, backend: str = "tvm") -> tuple[dict[str, float], dict]:
    """Re-measure ``configs`` and numpy interleaved in one time window; min over everything per item."""
    from .reference import numpy_gemm

    best: dict[str, float] = {config_to_str(c): math.inf for c in configs}
    numpy_times: list[float] = []
    info: dict = {}
    if backend == "tvm":
        from .tvm_measure import LocalTVMMeasurer, TimingOptions

        timing = TimingOptions(repeat=repeat, cap_s=60.0, abort_factor=1e9, check_first=10**9, timeout_s=300.0)
        measurer: Measurer = LocalTVMMeasurer(space, template=template, timing=timing, threads=threads)
    else:
        measurer = AnalyticMeasurer(space, seed=0, ruggedness=0.5)
    with measurer:
        for _ in range(rounds):
            ref = numpy_gemm(space.M, space.N, space.K, threads=threads, repeat=repeat)
            numpy_times.extend(ref.times_s)
            info = {"numpy": ref.numpy_version, "blas": ref.blas}
            for c, r in zip(configs, measurer.measure_batch(list(configs))):
                if r.ok:
                    best[config_to_str(c)] = min(best[config_to_str(c)], r.time_s)
    info["numpy_time_s"] = min(numpy_times)
    info["numpy_gflops"] = space.flop / min(numpy_times) / 1e9
    return best, info


@dataclass
class CompareResult:
    config: CompareConfig
    cells: list[dict]  # one per (size, tuner, seed): payload of _history_payload + keys
    final: list[dict]  # per size: re-timed best of each (tuner, seed) and numpy
    elapsed_s: float

    def table(self) -> list[dict]:
        """Per size and tuner: medians over seeds of the re-timed best, savings against xgb and rnn."""
        rows = []
        for fin in self.final:
            size = tuple(fin["size"])
            per_tuner: dict[str, list[float]] = {}
            for cell in self.cells:
                if tuple(cell["size"]) == size and cell["status"] == "ok":
                    t = fin["retimed"].get(cell["best_config_str"], math.inf) if cell["best_config_str"] else math.inf
                    per_tuner.setdefault(cell["tuner"], []).append(t)
            medians = {k: float(np.median(v)) for k, v in per_tuner.items()}
            ok_cells = [c for c in self.cells if tuple(c["size"]) == size and c["status"] == "ok"]
            fractions = {k: float(np.median([c["fraction_explored"] for c in ok_cells if c["tuner"] == k]))
                         for k in per_tuner}
            search = {k: float(np.median([c["search_time"][-1] for c in ok_cells if c["tuner"] == k]))
                      for k in per_tuner}
            for name, t in medians.items():
                rows.append({
                    "size": "x".join(map(str, size)), "tuner": name, "median_best_time_s": t,
                    "gflops": 2 * size[0] * size[1] * size[2] / t / 1e9 if math.isfinite(t) else 0.0,
                    "vs_numpy": fin["numpy_time_s"] / t if math.isfinite(t) else 0.0,
                    "saving_vs_xgb": 1 - t / medians["xgb"] if "xgb" in medians else None,
                    "saving_vs_rnn": 1 - t / medians["rnn"] if "rnn" in medians else None,
                    "fraction_explored": fractions[name],
                    "median_search_time_s": search[name],
                    "seeds": len(per_tuner[name]),
                })
        return rows


def run_compare(config: CompareConfig, store: Path, *, workers: int = 1, cluster: str | None = None) -> CompareResult:
    """Run (or resume) the sweep of tuning runs, then re-time every best kernel beside numpy."""
    from quartet.common.sweep import run_sweep

    config.validate()
    start = time.perf_counter()
    cells = [
        {"size": list(size), "levels": list(config.levels), "tuner": tuner, "seed": seed, "budget": config.budget,
         "backend": config.backend, "db": config.db, "threads": config.threads, "template": asdict(config.template)}
        for size in config.sizes for tuner in config.tuners for seed in config.seeds
    ]
    for cell in cells:  # the start default changed (outer -> best of random samples): never reuse older cells
        if cell["tuner"] in ("gbfs", "na2c"):
            cell["start"] = f"best of {RANDOM_STARTS} random"
    done = run_sweep(compare_cell, cells, store, workers=workers, cluster=cluster, description="gemm compare")
    _close_measurers()  # free the tuning workers before timing side by side
    rows = []
    for cell in done:
        payload = dict(cell.result or {})
        best = payload.get("best_config")
        payload["best_config_str"] = config_to_str(tuple(tuple(e) for e in best)) if best else None
        rows.append({**cell.config, **payload, "status": cell.status, "error": cell.error})
    final = []
    for size in config.sizes:
        space = TilingSpace(*size, config.levels)
        bests = sorted({r["best_config_str"] for r in rows if tuple(r["size"]) == tuple(size) and r["best_config_str"]})
        retimed, info = retime_side_by_side(
            space, [config_from_str(b) for b in bests], threads=config.threads, template=config.template,
            repeat=config.final_repeat, rounds=config.final_rounds, backend=config.backend)
        final.append({"size": list(size), "retimed": retimed, **info})
    return CompareResult(config, rows, final, time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------------
# exhaustive


REGRET_TARGET = 0.05  # the target: within 5% of the optimum ...
TARGET_FRACTION = 0.01  # ... while measuring at most 1% of the space


@dataclass
class ExhaustiveConfig:
    size: tuple[int, int, int] = (64, 64, 64)
    levels: tuple[int, int, int] = (2, 2, 2)  # quick: |S| = 343, measured in a minute or two
    tuners: list[str] = field(default_factory=lambda: [*PAPER_TUNERS, *NNI_START])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    budget_fractions: list[float] = field(default_factory=lambda: [0.01, 0.02, 0.05, 0.1])
    backend: str = "tvm"
    db: str = str(DEFAULT_DB)
    threads: int = 1
    template: KernelTemplate = field(default_factory=KernelTemplate)

    @classmethod
    def preset(cls, quick: bool, **overrides) -> "ExhaustiveConfig":
        # full: 256^3 with levels (3,1,3), |S| = 2,025: small enough to measure exhaustively on a shared
        # 2-core CPU (the (3,2,3) space has 18,225 kernels, ~50 min of one idle core per the reference note)
        base = cls() if quick else cls(size=(256, 256, 256), levels=(3, 1, 3), seeds=list(range(10)),
                                       budget_fractions=[0.0025, 0.005, 0.0075, 0.01, 0.02, 0.05])
        return replace(base, **overrides)

    def space(self) -> TilingSpace:
        return TilingSpace(*self.size, self.levels)

    def budgets(self) -> list[int]:
        n = self.space().size
        return sorted({max(2, round(f * n)) for f in self.budget_fractions})


def measure_space(space: TilingSpace, measurer: Measurer, progress=None) -> int:
    """Measure every configuration not yet recorded (through a CachedMeasurer this resumes)."""
    n = 0
    for config in space:
        measurer.measure(config)
        n += 1
        if progress is not None:
            progress(1)
    return n


@dataclass
class ExhaustiveResult:
    config: ExhaustiveConfig
    optimum_config: str
    optimum_time_s: float
    space_size: int
    n_failed: int
    runs: list[dict]  # one per (tuner, seed): best curve on the replayed table
    elapsed_s: float

    def regrets(self, tuner: str) -> np.ndarray:
        """(seeds, budget) array: regret t_best / t_opt - 1 after each trial (inf before a valid measurement;
        a run that stopped early keeps its last value)."""
        budget = max(self.config.budgets())
        out = []
        for run in (r for r in self.runs if r["tuner"] == tuner):
            curve = [math.inf if t is None else t / self.optimum_time_s - 1 for t in run["best_curve"]]
            out.append(curve + [curve[-1] if curve else math.inf] * (budget - len(curve)))
        return np.array(out, dtype=float).reshape(len(out), budget)

    def regret_table(self) -> list[dict]:
        """Per tuner and budget: median (over seeds) regret t_best / t_opt - 1, and the share within 5%."""
        rows = []
        for tuner in self.config.tuners:
            regrets = self.regrets(tuner)
            for b in self.config.budgets():
                at_b = regrets[:, b - 1]
                rows.append({"tuner": tuner, "budget": b, "fraction_of_space": b / self.space_size,
                             "median_regret": float(np.median(at_b)),
                             "within_5pct": float(np.mean(at_b <= REGRET_TARGET)), "seeds": len(at_b)})
        return rows

    def first_budget_within(self, threshold: float = REGRET_TARGET) -> dict[str, int | None]:
        """Per tuner: the smallest trial count at which the median regret over seeds is <= threshold."""
        out: dict[str, int | None] = {}
        for tuner in self.config.tuners:
            hits = np.flatnonzero(np.median(self.regrets(tuner), axis=0) <= threshold)
            out[tuner] = int(hits[0]) + 1 if hits.size else None
        return out

    def target_check(self) -> list[dict]:
        """The issue's target at the largest budget <= 1% of the space: regret <= 5% and lower median regret
        than xgb and rnn at the same budget (only tuners present in the run are compared)."""
        budget = max(1, math.floor(TARGET_FRACTION * self.space_size))
        median = {t: float(np.median(self.regrets(t)[:, budget - 1])) for t in self.config.tuners}
        rows = []
        for tuner in (t for t in ("gbfs", "na2c", *NNI_START) if t in median):
            rivals = {b: median[b] for b in ("xgb", "rnn") if b in median}
            rows.append({"tuner": tuner, "budget": budget, "fraction_of_space": budget / self.space_size,
                         "median_regret": median[tuner], "within_target": median[tuner] <= REGRET_TARGET,
                         "rival_median_regret": rivals,
                         "beats": {b: median[tuner] < r for b, r in rivals.items()}})
        return rows

    def summary(self) -> dict:
        return {"size": list(self.config.size), "levels": list(self.config.levels), "space_size": self.space_size,
                "optimum_time_s": self.optimum_time_s, "optimum_config": self.optimum_config,
                "failed": self.n_failed, "seeds": len(self.config.seeds), "regret": self.regret_table(),
                "first_budget_within_5pct": self.first_budget_within(), "target_at_1pct": self.target_check(),
                "elapsed_s": self.elapsed_s}


def run_exhaustive(config: ExhaustiveConfig, progress=None) -> ExhaustiveResult:
    """Record the whole space (resumable through the database), then replay every tuner on it."""
    start = time.perf_counter()
    space = config.space()
    if config.backend == "tvm":
        measurer = shared_measurer(space, "tvm", config.db, config.threads, config.template)
        measure_space(space, measurer, progress)
        target_key = measurer.target_key
        _close_measurers()
        with TuningDatabase(config.db) as db:
            replay = ReplayMeasurer.from_database(db, space, target_key)
    elif config.backend == "analytic":
        analytic = AnalyticMeasurer(space, seed=0, ruggedness=0.5, noise=0.05)
        replay = ReplayMeasurer(space, {c: analytic.measure(c) for c in space}, "analytic")
    else:
        raise ValueError(f"invalid backend={config.backend!r}: must be 'tvm' or 'analytic'")
    if len(replay.table) < space.size:
        raise RuntimeError(f"the recorded table has {len(replay.table)} of {space.size} configurations")
    opt_config, opt_time = replay.optimum()
    n_failed = sum(not r.ok for r in replay.table.values())
    max_budget = max(config.budgets())
    runs = []
    for tuner_name in config.tuners:
        for seed in config.seeds:
            result = tune(make_tuner(tuner_name, space, seed, max_budget), replay, max_budget)
            runs.append({"tuner": tuner_name, "seed": seed, **_history_payload(result)})
    return ExhaustiveResult(config, config_to_str(opt_config), opt_time, space.size, n_failed, runs,
                            time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------------
# reproduce


def _fmt_pct(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:+.0f}%"


def reproduce(out: Path, *, quick: bool, seed: int, workers: int = 1, cluster: str | None = None):
    """Run compare and exhaustive (quick or full presets) into ``out``; return the report section."""
    from quartet.common.report import ReportFigure, ReportSection, ReportTable
    from quartet.common.runs import RunDir, to_jsonable

    from . import plots

    out = Path(out)
    mode = "--quick" if quick else "--full"
    seeds = [seed + i for i in range(2 if quick else 3)]
    cmp_cfg = CompareConfig.preset(quick, seeds=seeds)
    exh_cfg = ExhaustiveConfig.preset(quick, seeds=[seed + i for i in range(3 if quick else 10)])
    run = RunDir.create("gemm_tuning", "reproduce", {"compare": cmp_cfg, "exhaustive": exh_cfg}, out=out)
    cmp_res = run_compare(cmp_cfg, out / "compare_cells", workers=workers, cluster=cluster)
    exh_res = run_exhaustive(exh_cfg)
    run.save_json("compare", to_jsonable(asdict(cmp_res)))
    run.save_json("exhaustive", to_jsonable(asdict(exh_res)))
    figs = [
        (plots.best_time_vs_trials(cmp_res), "compare_trials",
         "Best GEMM time found against trials (median over seeds), per size."),
        (plots.best_time_vs_search_time(cmp_res), "compare_search_time",
         "Best GEMM time against search cost (compile + run of each measurement + tuner time)."),
        (plots.gflops_vs_numpy(cmp_res), "compare_vs_numpy",
         "Re-timed best kernels as a fraction of numpy/OpenBLAS GFLOP/s, same threads, side by side."),
        (plots.regret_vs_budget(exh_res), "exhaustive_regret",
         "Median regret against the exhaustively measured optimum, against the fraction of the space measured."),
    ]
    figures = []
    for fig, name, caption in figs:
        path = run.save_figure(fig, name)
        figures.append(ReportFigure(path, caption, f"quartet gemm experiment {name.split('_')[0]} {mode}"))
    table = cmp_res.table()
    summary = compare_summary(cmp_res, exh_res)
    run.write_summary(summary)
    claims = claims_table(summary)
    compare_rows = [[r["size"], r["tuner"], f"{1e3 * r['median_best_time_s']:.3f}", f"{r['gflops']:.1f}",
                     f"{r['vs_numpy']:.2f}", _fmt_pct(r["saving_vs_xgb"]), _fmt_pct(r["saving_vs_rnn"]),
                     f"{100 * r['fraction_explored']:.2f}%", f"{r['median_search_time_s']:.1f}"] for r in table]
    regret_rows = exhaustive_rows(exh_res)
    return ReportSection(
        title="quartet.gemm_tuning — G-BFS and N-A2C GEMM tiling search on Apache TVM",
        paper=PAPER,
        summary=(f"Tuners on real TVM kernels ({'quick' if quick else 'full'} preset: sizes "
                 f"{', '.join('x'.join(map(str, s)) for s in cmp_cfg.sizes)}, {cmp_cfg.budget} trials, "
                 f"{len(cmp_cfg.seeds)} seeds, space levels {cmp_cfg.levels}); exhaustive regret on "
                 f"{'x'.join(map(str, exh_cfg.size))} levels {exh_cfg.levels} (|S| = {exh_res.space_size})."),
        figures=figures,
        tables=[
            ReportTable("Paper versus ours", ["claim", "paper", "ours", "verdict"], claims,
                        note="Savings are 1 - t_method / t_baseline at equal trial budget, medians over seeds, "
                             "best kernels re-timed side by side. The CPU is shared: timings are indicative."),
            ReportTable("compare: re-timed best kernels",
                        ["size", "tuner", "median best (ms)", "GFLOP/s", "x numpy", "saving vs xgb",
                         "saving vs rnn", "fraction explored", "search cost (s)"], compare_rows),
            ReportTable("exhaustive: median regret against the true optimum, by trial budget",
                        ["tuner", *(f"{b} ({100 * b / exh_res.space_size:.2g}%)" for b in exh_res.config.budgets()),
                         "first budget <= 5%"], regret_rows,
                        note=f"Median over {len(exh_res.config.seeds)} seeds of t_best / t_opt - 1 on the replayed "
                             "table; 'first budget' is the smallest trial count whose median is <= 5%. "
                             "gbfs/na2c start from the best of 5 measured random samples (the project default); "
                             "gbfs-nni/na2c-nni start from NNI's naive 'outer' state."),
        ],
        notes=[
            "The paper's hardware, sizes and budgets are unknown (no full text); its XGBoost baseline is "
            "re-implemented from AutoTVM's XGBTuner (knob features), its RNN baseline as an LSTM controller "
            "trained with REINFORCE (the paper does not identify it).",
            "G-BFS and N-A2C start from the best of 5 measured random samples (the reference note allows "
            "'outer' or 'random' starts); NNI's naive 'outer' start is kept as gbfs-nni / na2c-nni. The start "
            "was chosen on the recorded 256^3 (3,1,3) table, over seeds 0-29 and checked on held-out seeds "
            "1000-1029: `python benchmarks/gemm_tuning/study_start_states.py --seeds 30 [--first-seed 1000]`.",
            f"Tuning database: {cmp_cfg.db} (every measurement, resumable).",
        ],
    )


def exhaustive_rows(exh_res: ExhaustiveResult) -> list[list[str]]:
    """One row per tuner: median regret at each budget, then the first budget with median regret <= 5%."""
    table = exh_res.regret_table()
    first = exh_res.first_budget_within()
    return [[tuner, *(f"{100 * r['median_regret']:.1f}%" for r in table if r["tuner"] == tuner),
             "never" if first[tuner] is None else str(first[tuner])] for tuner in exh_res.config.tuners]


def compare_summary(cmp_res: CompareResult, exh_res: ExhaustiveResult | None) -> dict:
    table = cmp_res.table()

    def med(key: str, tuner: str) -> float | None:
        vals = [r[key] for r in table if r["tuner"] == tuner and r[key] is not None]
        return float(np.median(vals)) if vals else None

    summary = {
        "compare": table,
        "saving_vs_xgb": {t: med("saving_vs_xgb", t) for t in ("gbfs", "na2c")},
        "saving_vs_rnn": {t: med("saving_vs_rnn", t) for t in ("gbfs", "na2c")},
        "best_vs_numpy": {r["size"]: max(x["vs_numpy"] for x in table if x["size"] == r["size"]) for r in table},
        "fraction_explored": {t: med("fraction_explored", t) for t in ("gbfs", "na2c")},
    }
    if exh_res is not None:
        summary["exhaustive"] = exh_res.summary()
    return summary


def claims_table(summary: dict) -> list[list[str]]:
    rows = []
    for tuner in ("gbfs", "na2c"):
        s_xgb, s_rnn = summary["saving_vs_xgb"].get(tuner), summary["saving_vs_rnn"].get(tuner)
        rows.append([f"{tuner}: GEMM time saved vs XGBoost tuner", "24% (G-BFS/N-A2C)", _fmt_pct(s_xgb),
                     "n/a" if s_xgb is None else ("agrees in sign" if s_xgb > 0 else "not reproduced")])
        rows.append([f"{tuner}: GEMM time saved vs RNN tuner", "40%", _fmt_pct(s_rnn),
                     "n/a" if s_rnn is None else ("agrees in sign" if s_rnn > 0 else "not reproduced")])
    frac = summary["fraction_explored"]
    rows.append(["fraction of the space measured", "0.1%",
                 ", ".join(f"{k} {100 * v:.2f}%" for k, v in frac.items() if v is not None), "budget-defined"])
    for size, ratio in summary["best_vs_numpy"].items():
        rows.append([f"best kernel vs numpy 1-thread, {size}", "(issue target >= 1.0x at 512^3)", f"{ratio:.2f}x",
                     "meets" if ratio >= 1.0 else "below"])
    if "exhaustive" in summary:
        rows.extend(exhaustive_claims(summary["exhaustive"]))
    return rows


def exhaustive_claims(ex: dict) -> list[list[str]]:
    """Paper-versus-ours rows for the issue's regret target, from ``ExhaustiveResult.summary()``."""
    rows = []
    for r in ex["target_at_1pct"]:
        rivals = ", ".join(f"{b} {100 * v:.1f}%" for b, v in r["rival_median_regret"].items())
        beats_all = all(r["beats"].values()) and bool(r["beats"])
        rows.append([f"{r['tuner']}: median regret at {r['budget']} trials = {100 * r['fraction_of_space']:.2f}% "
                     f"of |S| = {ex['space_size']} (vs {rivals or 'no xgb/rnn run'})",
                     "within 5% of optimum at <= 1%, better than xgb and rnn (issue target)",
                     f"{100 * r['median_regret']:.1f}%",
                     ("meets" if r["within_target"] and beats_all else
                      "within 5%, not better than both" if r["within_target"] else "misses")])
    return rows
