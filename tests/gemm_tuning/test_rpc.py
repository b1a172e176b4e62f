"""Measurement over TVM RPC: a tracker and a server on loopback, started and stopped by the test."""

import pytest

pytest.importorskip("tvm", reason="apache-tvm is not installed")

from quartet.gemm_tuning.gbfs import GBFSTuner  # noqa: E402
from quartet.gemm_tuning.space import TilingSpace  # noqa: E402
from quartet.gemm_tuning.tuner import tune  # noqa: E402
from quartet.gemm_tuning.tvm_measure import RPCMeasurer, start_server, start_tracker  # noqa: E402


@pytest.fixture
def rpc_cluster():
    tracker = start_tracker("127.0.0.1", 19190, 19290)
    server = start_server("127.0.0.1", tracker.port, key="quartet-test", port=19300, port_end=19400)
    yield tracker
    server.terminate()
    tracker.terminate()


def test_tuning_through_tracker_and_server_on_loopback(rpc_cluster):
    space = TilingSpace(64, 64, 64)
    measurer = RPCMeasurer(space, "127.0.0.1", rpc_cluster.port, key="quartet-test")
    try:
        result = tune(GBFSTuner(space, init="outer", seed=0), measurer, 4)  # NNI start: the naive kernel
    finally:
        measurer.close()
    assert result.trials == 4 and result.failed_trials == 0
    assert all(h.time_s > 0 for h in result.history)
    assert result.best_time_s < result.history[0].time_s  # better than the naive start state
    assert "rpc=quartet-test" in measurer.target_key


def test_bad_tracker_port_is_rejected():
    with pytest.raises(ValueError, match="tracker_port"):
        RPCMeasurer(TilingSpace(64, 64, 64), "127.0.0.1", 0, key="x")
