"""GEMM tiling search on Apache TVM: G-BFS and N-A2C (Zhang, Cheng, Zang, Park, arXiv 1909.10616).

Tuners follow AutoTVM's contract (``next_batch(n)`` / ``update(configs, results)``) and run through
``tune(tuner, measurer, n_trial)``; measurers are interchangeable (TVM local or RPC, database replay,
an analytic model). TVM is imported only by the TVM measurers and kernels.
"""

from .baselines import GATuner, GridSearchTuner, RandomTuner
from .database import CachedMeasurer, ReplayMeasurer, TuningDatabase
from .gbfs import GBFSTuner
from .kernels import KernelTemplate
from .measure import AnalyticMeasurer, Measurer, MeasureResult
from .na2c import NA2CTuner
from .space import TilingSpace
from .tuner import Tuner, TuneResult, tune

__all__ = [
    "TilingSpace", "Tuner", "TuneResult", "tune", "GBFSTuner", "NA2CTuner", "RandomTuner", "GridSearchTuner",
    "GATuner", "XGBTuner", "RNNTuner", "Measurer", "MeasureResult", "AnalyticMeasurer", "KernelTemplate",
    "TuningDatabase", "CachedMeasurer", "ReplayMeasurer", "LocalTVMMeasurer", "RPCMeasurer",
]


def __getattr__(name: str):  # heavy dependencies (xgboost, torch, tvm) load on first use
    if name == "XGBTuner":
        from .xgb import XGBTuner

        return XGBTuner
    if name == "RNNTuner":
        from .rnn import RNNTuner

        return RNNTuner
    if name in ("LocalTVMMeasurer", "RPCMeasurer"):
        from . import tvm_measure

        return getattr(tvm_measure, name)
    raise AttributeError(name)
