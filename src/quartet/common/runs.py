"""Run folders: ``config.json``, ``metrics.jsonl`` (appended and flushed), ``summary.json``, ``figures/``.

Default location ``runs/<sub>/<name>-<UTC time>/`` under the current directory; ``out=`` overrides.
Nothing a command prints should be missing from its run folder.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def utc_stamp() -> str:
    """A filesystem-safe UTC timestamp with microseconds, e.g. ``20261130T031845.123456Z``."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def to_jsonable(obj: Any) -> Any:
    """Convert dataclasses, numpy/torch scalars and arrays, Paths and enums into JSON values.

    Non-finite floats become strings ("nan", "inf") so the output is strict JSON.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if hasattr(obj, "tolist"):  # numpy arrays and scalars, torch tensors
        return to_jsonable(obj.tolist())
    if hasattr(obj, "item"):
        return to_jsonable(obj.item())
    return str(obj)


def write_json_atomic(path: Path, obj: Any) -> Path:
    """Write JSON so that a reader (or a process killed mid-write) never sees a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(to_jsonable(obj), fh, indent=2, sort_keys=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


class RunDir:
    """One run's folder. Create with :meth:`create`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.figures = self.path / "figures"
        self.figures.mkdir(parents=True, exist_ok=True)
        self._metrics_path = self.path / "metrics.jsonl"

    @classmethod
    def create(
        cls, sub: str, name: str, config: Any, out: str | os.PathLike | None = None
    ) -> "RunDir":
        path = Path(out) if out is not None else Path("runs") / sub / f"{name}-{utc_stamp()}"
        if path.exists() and not path.is_dir():
            raise ValueError(f"invalid out={str(path)!r}: exists and is not a directory")
        path.mkdir(parents=True, exist_ok=True)
        run = cls(path)
        write_json_atomic(path / "config.json", {"subpackage": sub, "name": name, "config": config})
        return run

    def log(self, **metrics: Any) -> None:
        """Append one line to ``metrics.jsonl`` and flush it, so a killed run keeps its history."""
        with open(self._metrics_path, "a") as fh:
            fh.write(json.dumps(to_jsonable(metrics)) + "\n")
            fh.flush()

    def write_summary(self, summary: Mapping[str, Any]) -> Path:
        return write_json_atomic(self.path / "summary.json", summary)

    def save_json(self, name: str, obj: Any) -> Path:
        return write_json_atomic(self.path / (name if name.endswith(".json") else f"{name}.json"), obj)

    def save_figure(self, fig, name: str) -> Path:
        import matplotlib.pyplot as plt

        path = self.figures / (name if name.endswith(".png") else f"{name}.png")
        fig.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(fig)
        return path

    def read_metrics(self) -> list[dict]:
        if not self._metrics_path.exists():
            return []
        with open(self._metrics_path) as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"
