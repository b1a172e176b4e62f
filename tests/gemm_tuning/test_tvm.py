"""Real kernels on Apache TVM (tiny shapes): correctness, isolation of failing configurations, tuning."""

import numpy as np
import pytest

tvm = pytest.importorskip("tvm", reason="apache-tvm is not installed")

from quartet.gemm_tuning.baselines import RandomTuner  # noqa: E402
from quartet.gemm_tuning.database import CachedMeasurer, TuningDatabase  # noqa: E402
from quartet.gemm_tuning.kernels import KernelTemplate, build, host_target, loop_order  # noqa: E402
from quartet.gemm_tuning.space import TilingSpace, config_to_str  # noqa: E402
from quartet.gemm_tuning.tuner import tune  # noqa: E402
from quartet.gemm_tuning.tvm_measure import LocalTVMMeasurer, TimingOptions  # noqa: E402


@pytest.mark.parametrize("shape, levels, factors, template", [
    ((64, 64, 64), (3, 2, 3), ((2, 4, 8), (16, 4), (1, 2, 32)), KernelTemplate()),
    ((64, 64, 64), (3, 2, 3), ((64, 1, 1), (64, 1), (64, 1, 1)), KernelTemplate()),  # naive start state
    ((64, 32, 128), (4, 2, 4), ((2, 2, 4, 4), (8, 16), (1, 2, 1, 16)), KernelTemplate(unroll=0)),
    ((64, 64, 64), (2, 1, 2), ((8, 8), (64,), (2, 32)), KernelTemplate(parallel=True, decompose=False)),
])
def test_kernel_matches_numpy(shape, levels, factors, template):
    M, N, K = shape
    space = TilingSpace(M, N, K, levels)
    config = space.from_factors(*factors)
    rt = build(space, config, template, host_target())
    rng = np.random.default_rng(0)
    a = rng.random((M, K), dtype=np.float32)
    b = rng.random((K, N), dtype=np.float32)
    dev = tvm.cpu(0)
    c = tvm.runtime.tensor(np.zeros((M, N), np.float32), dev)
    rt["main"](tvm.runtime.tensor(a, dev), tvm.runtime.tensor(b, dev), c)
    np.testing.assert_allclose(c.numpy(), a @ b, rtol=1e-5, atol=1e-4)


def test_loop_order_follows_the_template():
    assert loop_order((3, 2, 3)) == ["m0", "n0", "k0", "m1", "n1", "k1", "m2", "n2"]
    assert loop_order((4, 2, 4)) == ["m0", "n0", "k0", "m1", "n1", "m2", "n2", "k1", "m3", "n3"]


def test_crashing_hanging_and_raising_configs_are_recorded_and_skipped(tmp_path):
    space = TilingSpace(64, 64, 64)
    planned = RandomTuner(space, seed=0).next_batch(7)  # RandomTuner's proposals ignore results
    faults = {config_to_str(planned[1]): "crash", config_to_str(planned[3]): "hang",
              config_to_str(planned[4]): "raise"}
    db = TuningDatabase(tmp_path / "tvm.sqlite")
    measurer = LocalTVMMeasurer(space, timing=TimingOptions(timeout_s=4.0), faults=faults)
    with CachedMeasurer(measurer, db) as cached:
        result = tune(RandomTuner(space, seed=0), cached, 7)
    assert [h.config for h in result.history] == planned
    errors = [h.error for h in result.history]
    assert "worker crashed" in errors[1] and "timeout" in errors[3] and "injected build failure" in errors[4]
    assert result.failed_trials == 3 and measurer.worker.restarts == 2
    assert all(errors[i] is None for i in (0, 2, 5, 6)), errors
    assert result.best_config in {planned[i] for i in (0, 2, 5, 6)}
    rows = db.results(space.signature(), measurer.target_key)
    assert len(rows) == 7 and rows[planned[3]].error.startswith("timeout")
    assert max(measurer.overheads_s[-2:]) < 0.1  # harness cost per healthy trial after the restarts


def test_metaschedule_anchor_is_bounded_and_records_a_timeout(tmp_path):
    # a MetaSchedule search that cannot finish in time is killed with its workers and reported, never hangs
    from quartet.gemm_tuning.metaschedule import run_metaschedule_bounded

    outcome = run_metaschedule_bounded(64, 64, 64, trials=4, work_dir=str(tmp_path), timeout_s=1.0)
    assert outcome["status"] == "timeout" and "1 s" in outcome["error"]
    assert outcome["wall_s"] < 30
    with pytest.raises(ValueError, match="timeout_s=0"):
        run_metaschedule_bounded(64, 64, 64, trials=4, work_dir=str(tmp_path), timeout_s=0)
