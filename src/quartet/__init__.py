"""quartet: four research papers as reusable, tested software.

Subpackages (each importable on its own; they never import each other):

- ``quartet.cot_parity``  chain-of-thought and sparse parity (Wen et al., ICLR 2025)
- ``quartet.bilevel``     FC-BiO for simple bilevel problems (Zhang et al., NeurIPS 2024)
- ``quartet.gemm_tuning`` G-BFS and N-A2C GEMM tile search on Apache TVM (Zhang et al., 2019)
- ``quartet.strong_reg``  gradient-coherent strong regularization (Park et al., 2018)
- ``quartet.common``      run folders, seeding, sweeps, plots, reports, datasets, CLI helpers
"""

__version__ = "0.1.0"
