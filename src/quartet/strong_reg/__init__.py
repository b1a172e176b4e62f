"""quartet.strong_reg - strong L1/L2 regularization that does not kill learning.

Park, Ho, Chang, Zhang, *Gradient-Coherent Strong Regularization for Deep Neural Networks* (arXiv 1811.08056;
earlier: *Achieving Strong Regularization for Deep Neural Networks*, ICLR 2018 submission).

Use inside any PyTorch loop::

    from quartet.strong_reg import StrongRegularizer, CoherentGate
    reg = StrongRegularizer(model, kind="l1", lam=1e-3, gate=CoherentGate(tau=0.5))
    ...
    loss.backward(); reg.step(); optimizer.step()

The coherent gate is a reconstruction (direction reading); the paper's exact test is not public.
"""

from .gates import (AlwaysGate, CoherentGate, DelayedGate, DominanceGate, Gate, NeverGate, NormHistoryGate,
                    make_gate)
from .metrics import SparsityReport, accuracy, is_collapsed, sparsity_report, tolerance_level
from .models import MLP, VGG, AlexNet, build_model
from .regularizer import RegularizedOptimizer, StrongRegularizer, default_exclude
from .stats import GradStats

__all__ = ["StrongRegularizer", "RegularizedOptimizer", "default_exclude", "Gate", "AlwaysGate", "NeverGate",
           "DelayedGate", "CoherentGate", "NormHistoryGate", "DominanceGate", "make_gate", "GradStats",
           "SparsityReport", "sparsity_report", "accuracy", "is_collapsed", "tolerance_level", "MLP", "VGG",
           "AlexNet", "build_model"]
