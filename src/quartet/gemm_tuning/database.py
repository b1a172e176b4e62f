"""The tuning database: every measurement in SQLite (WAL), keyed by workload, target and configuration.

Each measurement is committed as soon as it finishes, so a tuning run killed at any moment and
restarted loses no finished measurement and does not measure it again (``CachedMeasurer``).
``ReplayMeasurer`` serves a recorded table (e.g. the exhaustive 256^3 space) to tuners without TVM.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .measure import Measurer, MeasureResult
from .space import Config, TilingSpace, config_from_str, config_to_str

_SCHEMA = """
CREATE TABLE IF NOT EXISTS measurements (
    workload    TEXT NOT NULL,
    target      TEXT NOT NULL,
    config      TEXT NOT NULL,
    costs       TEXT,
    error       TEXT,
    aborted     INTEGER NOT NULL DEFAULT 0,
    compile_s   REAL,
    measure_s   REAL,
    timestamp   REAL,
    tvm_version TEXT,
    cpu         TEXT,
    load1       REAL,
    env         TEXT,
    PRIMARY KEY (workload, target, config)
)
"""

_COLUMNS = ("workload", "target", "config", "costs", "error", "aborted", "compile_s", "measure_s",
            "timestamp", "tvm_version", "cpu", "load1", "env")


class TuningDatabase:
    """SQLite store of measurements. Safe for several processes (WAL, busy timeout)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)  # autocommit
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process kills
        self.conn.execute(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "TuningDatabase":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- rows -----------------------------------------------------------------------------------------
    def put(self, workload: str, target: str, config: Config, result: MeasureResult, env: dict | None = None) -> None:
        env = env or {}
        self.conn.execute(
            f"INSERT OR REPLACE INTO measurements ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
            (workload, target, config_to_str(config), json.dumps(list(result.costs)) if result.costs else None,
             result.error, int(result.aborted), result.compile_s, result.measure_s, result.timestamp or time.time(),
             env.get("tvm"), env.get("mcpu") or env.get("cpu"), env.get("load1"), json.dumps(env, default=str)),
        )

    @staticmethod
    def _result(row: sqlite3.Row | tuple) -> MeasureResult:
        costs, error, aborted, compile_s, measure_s, timestamp = row
        return MeasureResult(costs=tuple(json.loads(costs)) if costs else None, error=error, aborted=bool(aborted),
                             compile_s=compile_s or 0.0, measure_s=measure_s or 0.0, timestamp=timestamp or 0.0,
                             cached=True)

    def get(self, workload: str, target: str, config: Config) -> MeasureResult | None:
        row = self.conn.execute(
            "SELECT costs, error, aborted, compile_s, measure_s, timestamp FROM measurements "
            "WHERE workload=? AND target=? AND config=?", (workload, target, config_to_str(config))).fetchone()
        return None if row is None else self._result(row)

    def results(self, workload: str, target: str) -> dict[Config, MeasureResult]:
        """All measurements of one workload on one target."""
        rows = self.conn.execute(
            "SELECT config, costs, error, aborted, compile_s, measure_s, timestamp FROM measurements "
            "WHERE workload=? AND target=?", (workload, target))
        return {config_from_str(r[0]): self._result(r[1:]) for r in rows}

    def count(self, workload: str | None = None, target: str | None = None) -> int:
        query, args = "SELECT COUNT(*) FROM measurements WHERE 1=1", []
        if workload is not None:
            query, args = query + " AND workload=?", args + [workload]
        if target is not None:
            query, args = query + " AND target=?", args + [target]
        return self.conn.execute(query, args).fetchone()[0]

    def keys(self) -> list[tuple[str, str, int]]:
        """(workload, target, number of rows) for every recorded table."""
        return self.conn.execute(
            "SELECT workload, target, COUNT(*) FROM measurements GROUP BY workload, target").fetchall()

    # --- JSON lines -----------------------------------------------------------------------------------
    def rows(self) -> Iterator[dict]:
        for row in self.conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM measurements ORDER BY timestamp"):
            record = dict(zip(_COLUMNS, row))
            record["costs"] = json.loads(record["costs"]) if record["costs"] else None
            record["env"] = json.loads(record["env"]) if record["env"] else {}
            yield record

    def export_jsonl(self, path: str | Path) -> int:
        n = 0
        with open(path, "w") as f:
            for record in self.rows():
                f.write(json.dumps(record) + "\n")
                n += 1
        return n

    def import_jsonl(self, path: str | Path) -> int:
        """Insert rows from a JSON-lines export; existing keys are kept (never overwritten)."""
        n = 0
        with open(path) as f:
            lines: Iterable[str] = (line for line in f if line.strip())
            for lineno, line in enumerate(lines, 1):
                try:
                    r = json.loads(line)
                    values = [r[c] for c in _COLUMNS]
                except (json.JSONDecodeError, KeyError) as exc:
                    raise ValueError(
                        f"invalid path={str(path)!r}: line {lineno} is not a measurement row ({exc})") from None
                values[3] = json.dumps(values[3]) if values[3] is not None else None
                values[12] = json.dumps(values[12], default=str)
                cur = self.conn.execute(
                    f"INSERT OR IGNORE INTO measurements ({', '.join(_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(_COLUMNS))})", values)
                n += cur.rowcount
        return n


class CachedMeasurer(Measurer):
    """Serve configurations already in the database; measure the rest one by one, committing each."""

    def __init__(self, inner: Measurer, db: TuningDatabase) -> None:
        self.inner, self.db = inner, db
        self.space = inner.space
        self.target_key = inner.target_key
        self.workload = inner.space.signature()
        self.hits = 0
        self.misses = 0

    def measure_batch(self, configs: Sequence[Config]) -> list[MeasureResult]:
        out = []
        for config in configs:
            cached = self.db.get(self.workload, self.target_key, config)
            if cached is not None:
                self.hits += 1
                out.append(cached)
                continue
            self.misses += 1
            result = self.inner.measure_batch([config])[0]
            self.db.put(self.workload, self.target_key, config, result, self.inner.environment())
            out.append(result)
        return out

    def environment(self) -> dict:
        return self.inner.environment()

    def close(self) -> None:
        self.inner.close()


class ReplayMeasurer(Measurer):
    """Measurements replayed from a recorded table; an unrecorded configuration is a failed trial
    (or is measured by ``fallback`` when given)."""

    def __init__(self, space: TilingSpace, table: dict[Config, MeasureResult], target_key: str = "replay",
                 fallback: Measurer | None = None) -> None:
        self.space, self.table, self.fallback = space, table, fallback
        self.target_key = target_key

    @classmethod
    def from_database(cls, db: TuningDatabase, space: TilingSpace, target_key: str,
                      fallback: Measurer | None = None) -> "ReplayMeasurer":
        table = db.results(space.signature(), target_key)
        if not table:
            known = ", ".join(f"{w} @ {t} ({n})" for w, t, n in db.keys()) or "none"
            raise ValueError(
                f"invalid target_key={target_key!r}: no rows for workload {space.signature()} in {db.path}; "
                f"recorded tables: {known}")
        return cls(space, table, target_key, fallback)

    def measure_batch(self, configs: Sequence[Config]) -> list[MeasureResult]:
        out = []
        for config in configs:
            hit = self.table.get(config)
            if hit is not None:
                out.append(hit)
            elif self.fallback is not None:
                out.append(self.fallback.measure(config))
            else:
                out.append(MeasureResult.failure("replay: configuration not in the recorded table"))
        return out

    def optimum(self) -> tuple[Config, float]:
        """Best recorded configuration and its time."""
        best = min(((c, r.time_s) for c, r in self.table.items() if r.ok and not r.aborted), key=lambda x: x[1])
        return best
