"""``quartet reproduce``: run each subpackage's ``experiments.reproduce`` and assemble one report."""

from __future__ import annotations

import importlib
import os
import time
import traceback
from pathlib import Path

from .report import ReportSection, build_report
from .runs import utc_stamp


def _section_for(sub: str, issue: int, out: Path, **kwargs) -> ReportSection:
    module_name = f"quartet.{sub}.experiments"
    start = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return ReportSection(title=f"quartet.{sub}", paper="", status="not built",
                                 summary=f"quartet.{sub} is not built yet (issue {issue}); no results.")
        raise
    try:
        section = module.reproduce(out, **kwargs)
    except Exception as exc:  # noqa: BLE001 - one failing paper must not lose the other three
        (out / "error.txt").parent.mkdir(parents=True, exist_ok=True)
        (out / "error.txt").write_text(traceback.format_exc())
        return ReportSection(title=f"quartet.{sub}", paper="", status="failed",
                             summary=f"reproduce failed: {type(exc).__name__}: {exc} (traceback in {out / 'error.txt'})",
                             elapsed_s=time.perf_counter() - start)
    section.elapsed_s = time.perf_counter() - start
    return section


def reproduce_all(subpackages: dict[str, tuple[str, int]], *, out: str | os.PathLike | None, quick: bool,
                  seed: int, workers: int = 1, cluster: str | None = None,
                  command: str = "quartet reproduce") -> tuple[Path, list[ReportSection]]:
    """Run every named subpackage's reproduction into ``out`` (default ``reports/<UTC time>``)."""
    folder = Path(out) if out is not None else Path("reports") / utc_stamp()
    folder.mkdir(parents=True, exist_ok=True)
    sections = [
        _section_for(sub, issue, folder / sub, quick=quick, seed=seed, workers=workers, cluster=cluster)
        for sub, issue in subpackages.values()
    ]
    return build_report(sections, folder, command=command), sections
