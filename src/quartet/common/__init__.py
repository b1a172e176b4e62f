"""Shared ground for the four subpackages; see ``docs/common-api.md``.

Submodules are imported on demand (``from quartet.common.sweep import run_sweep``) so that
importing one helper never drags in torch, dask or matplotlib.
"""
