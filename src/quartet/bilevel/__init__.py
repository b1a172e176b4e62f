"""FC-BiO and the simple-bilevel baselines behind one ``solve()`` call (Zhang, Chen, Xu, Zhang, NeurIPS 2024).

>>> from quartet.bilevel import solve, min_norm_least_squares
>>> res = solve(min_norm_least_squares(A, b), method="fc-bio", eps_f=1e-6, eps_g=1e-6)   # doctest: +SKIP
"""

from .domains import Ball, Box, Domain, Rn
from .fcbio import hoelder_eps_g
from .problems import (BilevelProblem, hard_lipschitz_instance, hard_smooth_instance, logistic_bilevel,
                       min_norm_least_squares, quadratic_bilevel)
from .result import BilevelResult
from .solve import METHODS, PAPER_METHODS, solve

__all__ = [
    "solve", "METHODS", "PAPER_METHODS", "BilevelProblem", "BilevelResult", "Ball", "Box", "Rn", "Domain",
    "min_norm_least_squares", "logistic_bilevel", "quadratic_bilevel", "hard_smooth_instance",
    "hard_lipschitz_instance", "hoelder_eps_g",
]
