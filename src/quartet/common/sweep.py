"""Resumable sweeps: map a function over a grid of configs on local processes or a Dask cluster.

Each finished cell is written atomically to ``<store>/<key>.json``, where ``key`` hashes the
cell's config. A sweep killed at any moment and run again computes only the cells without a file.
A cell that raises is stored as ``failed`` with its error; the sweep goes on, and a rerun retries it.

``fn`` must be a module-level (picklable) function ``fn(config: dict) -> dict`` whose result is
JSON-serialisable; on a Dask cluster the workers must be able to import it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import platform
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .progress import progress_bar
from .runs import to_jsonable, write_json_atomic
from .validation import check_int, fail

CellFn = Callable[[dict], dict]


@dataclass
class CellResult:
    key: str
    config: dict
    status: str  # "ok" or "failed"
    result: Any
    error: str | None
    time_s: float

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def config_key(config: Mapping[str, Any]) -> str:
    """16 hex characters of the SHA-256 of the config's canonical JSON (key order does not matter)."""
    canonical = json.dumps(to_jsonable(dict(config)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def grid(**axes: Iterable[Any]) -> list[dict]:
    """Cartesian product: ``grid(k=[1, 2], seed=[0, 1])`` -> 4 configs, last axis fastest."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*(list(axes[n]) for n in names))]


def run_cell(fn: CellFn, config: dict) -> dict:
    """Run one cell and capture its outcome; never raises (the sweep must go on)."""
    start = time.perf_counter()
    try:
        result = fn(dict(config))
        return {"status": "ok", "result": to_jsonable(result), "error": None,
                "time_s": time.perf_counter() - start}
    except Exception as exc:  # noqa: BLE001 - recording every failure is the point
        tb = traceback.format_exc(limit=8)
        return {"status": "failed", "result": None, "error": f"{type(exc).__name__}: {exc}",
                "traceback": tb, "time_s": time.perf_counter() - start}


def _cell_path(store: Path, key: str) -> Path:
    return store / f"{key}.json"


def load_cell(store: str | os.PathLike, key: str) -> CellResult | None:
    path = _cell_path(Path(store), key)
    if not path.exists():
        return None
    with open(path) as fh:
        rec = json.load(fh)
    return CellResult(key, rec["config"], rec["status"], rec.get("result"), rec.get("error"),
                      float(rec.get("time_s", 0.0)))


def _store_cell(store: Path, key: str, config: dict, outcome: dict) -> None:
    record = {"key": key, "config": config, **outcome, "host": platform.node(), "pid": os.getpid(),
              "finished_at": time.time()}
    write_json_atomic(_cell_path(store, key), record)


def _local_pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing as mp

    # spawn, not fork: torch and TVM hold threads and locks that fork copies in a broken state.
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))


def run_sweep(
    fn: CellFn,
    configs: Sequence[Mapping[str, Any]],
    store: str | os.PathLike,
    *,
    workers: int = 1,
    cluster: str | None = None,
    description: str = "sweep",
) -> list[CellResult]:
    """Compute every config's cell that is not yet stored; return all cells in ``configs`` order."""
    workers = check_int("workers", workers, min=1)
    if cluster is not None and not (isinstance(cluster, str) and "://" in cluster):
        fail("cluster", cluster, "must be a Dask scheduler address such as tcp://127.0.0.1:8786")
    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    configs = [dict(to_jsonable(dict(c))) for c in configs]
    keys = [config_key(c) for c in configs]

    todo: dict[str, dict] = {}
    for key, config in zip(keys, configs):
        done = load_cell(store, key)
        if (done is None or not done.ok) and key not in todo:
            todo[key] = config

    if todo:
        with progress_bar(description, total=len(todo)) as advance:
            if cluster is not None:
                _run_on_dask(fn, todo, store, cluster, advance)
            elif workers > 1 and len(todo) > 1:
                _run_on_processes(fn, todo, store, workers, advance)
            else:
                for key, config in todo.items():
                    _store_cell(store, key, config, run_cell(fn, config))
                    advance(1)

    results = [load_cell(store, key) for key in keys]
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def _run_on_processes(fn, todo: dict[str, dict], store: Path, workers: int, advance) -> None:
    from concurrent.futures.process import BrokenProcessPool

    pending = dict(todo)
    while pending:
        with _local_pool(min(workers, len(pending))) as pool:
            futures = {pool.submit(run_cell, fn, cfg): key for key, cfg in pending.items()}
            broken = False
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in finished:
                    key = futures.pop(fut)
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:
                        # A worker died (segfault, OOM kill): the pool is gone for every pending cell.
                        broken = True
                        continue
                    _store_cell(store, key, pending.pop(key), outcome)
                    advance(1)
                if broken:
                    break
        if broken:
            # Run the survivors one at a time in fresh pools so a crashing cell fails alone.
            for key in list(pending):
                with _local_pool(1) as pool:
                    try:
                        outcome = pool.submit(run_cell, fn, pending[key]).result()
                    except BrokenProcessPool:
                        outcome = {"status": "failed", "result": None, "time_s": 0.0,
                                   "error": "worker process died while running this cell"}
                _store_cell(store, key, pending.pop(key), outcome)
                advance(1)


def _run_on_dask(fn, todo: dict[str, dict], store: Path, address: str, advance) -> None:
    from distributed import Client, as_completed

    with Client(address, timeout="30s") as client:
        keys = list(todo)
        futures = client.map(run_cell, [fn] * len(keys), [todo[k] for k in keys],
                             key=[f"quartet-cell-{k}" for k in keys], pure=False)
        key_of = {fut.key: k for fut, k in zip(futures, keys)}
        for fut in as_completed(futures):
            key = key_of[fut.key]
            try:
                outcome = fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after repeated worker deaths
                outcome = {"status": "failed", "result": None, "time_s": 0.0,
                           "error": f"{type(exc).__name__}: {exc}"}
            _store_cell(store, key, todo[key], outcome)
            advance(1)


def sweep_status(store: str | os.PathLike) -> dict[str, int]:
    """Counts of stored cells by status."""
    counts = {"ok": 0, "failed": 0}
    for path in Path(store).glob("*.json"):
        with open(path) as fh:
            status = json.load(fh)["status"]
        counts[status] = counts.get(status, 0) + 1
    return counts
