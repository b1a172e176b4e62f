"""Tiny importable cell functions for trying the sweep runner (``quartet sweep run``) and testing it.

``quartet sweep run quartet.common.sweep_demo:square --grid '{"x": [1, 2, 3]}' ...``
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def square(config: dict) -> dict:
    """Return ``x**2``; optionally sleep, leave a marker file per call, or fail on request."""
    if config.get("log_dir"):
        marker = Path(config["log_dir"]) / f"x{config['x']}-pid{os.getpid()}-{time.monotonic_ns()}"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    time.sleep(float(config.get("sleep", 0.0)))
    if config.get("fail"):
        raise RuntimeError(f"cell x={config['x']} failed on purpose")
    return {"x": config["x"], "y": config["x"] ** 2, "pid": os.getpid()}


def crash(config: dict) -> dict:
    """Kill the worker process outright (as a segfaulting kernel would) when ``config['crash']``."""
    if config.get("crash"):
        os._exit(3)
    return {"x": config["x"]}
