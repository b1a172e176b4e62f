"""CLI helpers shared by every sub-app: option types, one-line errors, run summaries.

Commands raise ``ValueError`` for bad input; ``quartet.cli.main`` turns it into one line on stderr
and exit code 2 (``--verbose`` shows the traceback instead).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .progress import console

OutOpt = Annotated[Optional[Path], typer.Option(
    "--out", help="Run folder to write (default: runs/<sub>/<name>-<UTC time>/).")]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, help="Random seed (python, numpy, torch).")]
WorkersOpt = Annotated[int, typer.Option(
    "--workers", min=1, help="Local worker processes for sweeps.")]
ClusterOpt = Annotated[Optional[str], typer.Option(
    "--cluster", help="Dask scheduler address (tcp://HOST:PORT) to run sweep cells on.")]
QuickOpt = Annotated[bool, typer.Option(
    "--quick/--full", help="Quick preset (minutes on 2 CPU cores) or the paper-scale preset.")]
ThreadsOpt = Annotated[int, typer.Option("--threads", min=1, help="Torch/BLAS threads per process.")]


def new_app(name: str, help: str) -> typer.Typer:
    """A sub-app with the project's settings (no pretty tracebacks: main() owns error output)."""
    return typer.Typer(name=name, help=help, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_enable=False)


def echo_summary(run_path: Path, summary: dict[str, Any], keys: list[str] | None = None) -> None:
    """Print where a run went and its headline numbers (all of which are also in summary.json)."""
    from rich.table import Table

    table = Table(show_header=False, box=None)
    for key in keys or list(summary):
        if key in summary:
            value = summary[key]
            table.add_row(key, f"{value:.6g}" if isinstance(value, float) else str(value))
    console.print(table)
    console.print(f"[bold]run folder:[/bold] {run_path}")
