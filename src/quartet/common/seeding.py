"""Explicit seeds and thread counts (python, numpy, torch)."""

from __future__ import annotations

import os
import random

import numpy as np

from .validation import check_int


def seed_everything(seed: int) -> np.random.Generator:
    """Seed python, numpy's legacy global state and torch (if installed); return a numpy Generator."""
    seed = check_int("seed", seed, min=0, max=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # torch is a dependency, but seeding must not require it
        pass
    else:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)


def set_threads(n: int) -> int:
    """Set torch's intra- and inter-op threads and the OpenMP/MKL variables children inherit.

    Oversubscribed BLAS threads on a busy 2-core machine make small matmuls ~10x slower, so every
    entry point sets this explicitly.
    """
    n = check_int("threads", n, min=1)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        import torch
    except ImportError:
        return n
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:  # can only be set once per process, before parallel work starts
        pass
    return n
