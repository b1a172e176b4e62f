"""``quartet bilevel``: solve one problem with one method, or run a named experiment."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from quartet.common.cli import OutOpt, QuickOpt, SeedOpt, echo_summary, new_app
from quartet.common.runs import RunDir, to_jsonable
from quartet.common.seeding import seed_everything

app = new_app("bilevel", "FC-BiO and simple-bilevel baselines (Zhang, Chen, Xu, Zhang, NeurIPS 2024).")

SUMMARY_KEYS = ["method", "f", "g", "f_gap", "g_gap", "grad_calls", "time_s", "status", "message"]


@app.command()
def solve(
    problem: Annotated[str, typer.Option("--problem", help="min-norm or logistic.")] = "min-norm",
    data: Annotated[Optional[str], typer.Option(
        "--data", help="min-norm: synthetic:ROWSxCOLS | digits | diabetes-colinear | mat:PATH; logistic: "
                       "synthetic-rcv1-like | rcv1-like:ROWSxCOLS | a1a | heart | libsvm:PATH.")] = None,
    method: Annotated[str, typer.Option("--method", help="fc-bio, fc-bio-lip, a-irg, bi-sg, cg-bio, agm-bio, "
                                                         "pb-apg, bisec-bio, big-sam, dbgd, r-apm, mng.")] = "fc-bio",
    eps_f: Annotated[float, typer.Option("--eps-f", help="Upper-level tolerance.")] = 1e-6,
    eps_g: Annotated[float, typer.Option("--eps-g", help="Lower-level tolerance.")] = 1e-6,
    radius: Annotated[Optional[float], typer.Option("--radius", help="Z = B(0, radius); default 2 (min-norm), "
                                                                      "300 (logistic).")] = None,
    max_time: Annotated[Optional[float], typer.Option("--max-time", help="Wall-clock budget, seconds.")] = None,
    max_iter: Annotated[Optional[int], typer.Option("--max-iter", help="Iteration budget.")] = None,
    inner_max_iter: Annotated[Optional[int], typer.Option(
        "--inner-max-iter", help="FC-BiO inner cap (default: the theory value).")] = None,
    paper_settings: Annotated[bool, typer.Option("--paper-settings/--defaults",
                                                 help="Use the paper's baseline step sizes.")] = True,
    seed: SeedOpt = 0,
    out: OutOpt = None,
) -> None:
    """Solve one bilevel problem; writes config.json, metrics.jsonl (history), summary.json, figures/."""
    from . import plots
    from .experiments import ComparisonConfig, ComparisonResult, first_weak_optimal, make_problem, paper_options
    from .solve import METHODS
    from .solve import solve as run_solve

    if method not in METHODS:
        raise ValueError(f"invalid method={method!r}: must be one of {', '.join(METHODS)}")
    seed_everything(seed)
    data = data or ("synthetic:400x730" if problem == "min-norm" else "synthetic-rcv1-like")
    prob, desc, stand_in = make_problem(problem, data, seed, radius)
    options = paper_options(problem, method, eps_f) if paper_settings else {}
    if inner_max_iter is not None:
        if not method.startswith("fc-bio"):
            raise ValueError(f"invalid --inner-max-iter for method={method!r}: only fc-bio and fc-bio-lip have one")
        options["inner_max_iter"] = inner_max_iter
    config = {"problem": problem, "data": data, "data_description": desc, "stands_in_for": stand_in,
              "method": method, "eps_f": eps_f, "eps_g": eps_g, "radius": radius, "max_time": max_time,
              "max_iter": max_iter, "options": options, "seed": seed}
    run = RunDir.create("bilevel", f"solve-{problem}-{method}", config, out)
    res = run_solve(prob, method, eps_f=eps_f, eps_g=eps_g, max_time=max_time, max_iter=max_iter, **options)
    h = res.history
    for i in range(len(h["f"])):
        run.log(**{k: h[k][i] for k in h})
    summary = res.summary()
    summary.update(first_weak_optimal(h, prob.f_star, prob.g_star, eps_f, eps_g))
    summary = {**summary, "calls_to_eps": summary.pop("grad_calls"), "time_to_eps": summary.pop("time_s")}
    summary.update(grad_calls=res.grad_calls, time_s=res.time_s, f_star=prob.f_star, g_star=prob.g_star,
                   data=desc)
    if "steps" in res.info:
        run.save_json("bisection_steps", to_jsonable(res.info["steps"]))
    run.write_summary(to_jsonable(summary))
    cmp = ComparisonResult(ComparisonConfig(problem, data, eps_f, (method,)), desc, stand_in, prob.f_star,
                           prob.g_star, {method: {"history": h}})
    run.save_figure(plots.comparison_figure(cmp), "convergence")
    echo_summary(run.path, summary, SUMMARY_KEYS)


@app.command()
def experiment(
    name: Annotated[str, typer.Argument(help="min-norm, min-norm-colinear, logistic, hardness or rates.")],
    quick: QuickOpt = True,
    seed: SeedOpt = 0,
    out: OutOpt = None,
) -> None:
    """Run a named experiment (quick or paper-scale preset); writes result.json, summary.json and figures."""
    from . import plots
    from .experiments import EXPERIMENTS, as_json, preset, run_experiment

    if name not in EXPERIMENTS:
        raise ValueError(f"invalid experiment={name!r}: must be one of {', '.join(EXPERIMENTS)}")
    seed_everything(seed)
    cfg = preset(name, quick, seed)
    run = RunDir.create("bilevel", f"experiment-{name}", {"name": name, "quick": quick, "seed": seed,
                                                          "config": cfg}, out)
    res = run_experiment(name, cfg)
    run.save_json("result", to_jsonable(as_json(res)))
    if name in ("min-norm", "min-norm-colinear", "logistic"):
        summary = {m: {k: v for k, v in r.items() if k != "history"} for m, r in res.runs.items()}
        for m, r in summary.items():
            run.log(**{**r, "method": m})  # r (a BilevelResult summary) already names its method
    elif name == "hardness":
        summary = {"T": res["T"], "f_star_smooth": res["f_star_smooth"], "f_star_lipschitz": res["f_star_lipschitz"],
                   **{f"{k}:{m}": v["zero_for_first_T"] for k in ("smooth", "lipschitz") for m, v in res[k].items()}}
    else:
        summary = {"slope_smooth": res["slope_smooth"], "slope_lipschitz": res["slope_lipschitz"],
                   "excluded_from_slope_lipschitz": res["excluded_from_slope_lipschitz"],
                   "smooth": res["smooth"], "lipschitz": res["lipschitz"]}
        for row in res["smooth"]:
            run.log(variant="smooth", **row)
        for row in res["lipschitz"]:
            run.log(variant="lipschitz", **row)
    run.write_summary(to_jsonable(summary))
    for fig_name, fig, _ in plots.figures_for(name, res):
        run.save_figure(fig, fig_name)
    from quartet.common.progress import console

    console.print(f"[bold]run folder:[/bold] {run.path}")
