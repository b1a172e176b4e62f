"""Tuning database: rows, JSON lines, replay, and resume after SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import quartet
from quartet.gemm_tuning.baselines import RandomTuner
from quartet.gemm_tuning.database import CachedMeasurer, ReplayMeasurer, TuningDatabase
from quartet.gemm_tuning.gbfs import GBFSTuner
from quartet.gemm_tuning.measure import AnalyticMeasurer, MeasureResult
from quartet.gemm_tuning.space import TilingSpace
from quartet.gemm_tuning.tuner import tune

SPACE = TilingSpace(64, 64, 64)


def test_put_get_results_and_jsonl_roundtrip(tmp_path):
    db = TuningDatabase(tmp_path / "t.sqlite")
    cfg_a, cfg_b = SPACE.outer_config(), SPACE.unrank(17)
    db.put(SPACE.signature(), "llvm:x", cfg_a, MeasureResult(costs=(2e-3, 1e-3), compile_s=0.1, timestamp=5.0),
           {"tvm": "0.27", "mcpu": "znver4", "load1": 1.5})
    db.put(SPACE.signature(), "llvm:x", cfg_b, MeasureResult.failure("build: boom"))
    assert db.count() == 2 and db.count(target="other") == 0
    got = db.get(SPACE.signature(), "llvm:x", cfg_a)
    assert got.costs == (2e-3, 1e-3) and got.time_s == 1e-3 and got.cached
    assert db.get(SPACE.signature(), "llvm:x", cfg_b).error == "build: boom"
    assert db.get(SPACE.signature(), "llvm:y", cfg_a) is None
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    n = db.export_jsonl(tmp_path / "rows.jsonl")
    rows = [json.loads(line) for line in open(tmp_path / "rows.jsonl")]
    assert n == 2 and {r["cpu"] for r in rows} == {"znver4", None}
    other = TuningDatabase(tmp_path / "u.sqlite")
    assert other.import_jsonl(tmp_path / "rows.jsonl") == 2
    assert other.import_jsonl(tmp_path / "rows.jsonl") == 0  # existing keys are kept
    assert other.results(SPACE.signature(), "llvm:x") == db.results(SPACE.signature(), "llvm:x")
    (tmp_path / "bad.jsonl").write_text('{"workload": 1}\n')
    with pytest.raises(ValueError, match="path="):
        other.import_jsonl(tmp_path / "bad.jsonl")


def test_cached_measurer_and_replay(tmp_path):
    db = TuningDatabase(tmp_path / "t.sqlite")
    inner = AnalyticMeasurer(SPACE, seed=0)
    first = tune(RandomTuner(SPACE, seed=0), CachedMeasurer(inner, db), 30)
    assert inner.n_measured == 30 == db.count()
    again = tune(RandomTuner(SPACE, seed=0), CachedMeasurer(inner, db), 30)
    assert inner.n_measured == 30, "a recorded configuration must not be measured again"
    assert again.best_time_s == first.best_time_s
    replay = ReplayMeasurer.from_database(db, SPACE, "analytic")
    assert tune(RandomTuner(SPACE, seed=0), replay, 30).best_config == first.best_config
    unrecorded = next(c for c in SPACE if c not in replay.table)
    assert "not in the recorded table" in replay.measure(unrecorded).error
    with pytest.raises(ValueError, match="target_key"):
        ReplayMeasurer.from_database(db, SPACE, "llvm:none")


_RUN = textwrap.dedent("""
    import sys
    from quartet.gemm_tuning.database import CachedMeasurer, TuningDatabase
    from quartet.gemm_tuning.gbfs import GBFSTuner
    from quartet.gemm_tuning.measure import AnalyticMeasurer
    from quartet.gemm_tuning.space import TilingSpace
    from quartet.gemm_tuning.tuner import tune
    space = TilingSpace(64, 64, 64)
    measurer = CachedMeasurer(AnalyticMeasurer(space, seed=1, delay_s=float(sys.argv[2])), TuningDatabase(sys.argv[1]))
    result = tune(GBFSTuner(space, seed=1), measurer, 40)
    print(measurer.misses, result.distinct_measured, flush=True)
""")


def test_resume_after_sigkill_loses_and_repeats_nothing(tmp_path):
    path = tmp_path / "kill.sqlite"
    env = dict(os.environ, PYTHONPATH=str(Path(quartet.__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, "-c", _RUN, str(path), "0.05"], env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        if path.exists() and TuningDatabase(path).count() >= 10:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = TuningDatabase(path).count()
    assert 10 <= done_before < 40
    out = subprocess.run([sys.executable, "-c", _RUN, str(path), "0"], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    misses, distinct = int(out[0]), int(out[1])
    assert distinct == 40 == TuningDatabase(path).count()
    assert misses == 40 - done_before, "the restarted run measured only what was not finished"
    # the same seed retraces the same search, so the interrupted run's rows are exactly reused
    uninterrupted = tune(GBFSTuner(SPACE, seed=1), AnalyticMeasurer(SPACE, seed=1), 40)
    recorded = TuningDatabase(path).results(SPACE.signature(), "analytic")
    assert set(recorded) == {h.config for h in uninterrupted.history}
