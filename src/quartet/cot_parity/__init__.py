"""Chain-of-thought and k-sparse parity (Wen, Zhang, Lin, Zhang, ICLR 2025, arXiv 2410.05459).

Sparse-parity data with and without CoT, a small GPT that exposes its attention, training with sample
complexity, the paper's attention-sparsity metrics, and the same metrics on a pretrained LM over GSM8K.

    from quartet.cot_parity import GPTConfig, ParityTask, TrainConfig, train

    task = ParityTask.from_seed(n=20, k=6, layout="official", seed=0)   # secret (1, 2, 11, 12, 17, 18)
    result = train(task, GPTConfig(n_layer=2, n_head=2, n_embd=128, block_size=task.seq_len),
                   TrainConfig(lr=1e-3, batch_size=256, budget_samples=256_000))
    result.samples_to_solve, result.history[-1].label_row_entropy

The same from the shell: ``quartet parity run --n 20 --k 6 --cot official``; the paper's experiments:
``quartet parity experiment gap --quick``; the GSM8K measurement: ``quartet parity llm-sparsity``.
"""

from .data import FiniteSource, OnlineSource, ParityTask, sample_secret
from .metrics import (
    interpretability,
    label_row_entropy,
    official_min_entropy,
    row_normalized_entropy,
    teacher_forced_exact_match,
)
from .model import GPT, GPTConfig, model_preset
from .train import TrainConfig, TrainResult, evaluate, train

__all__ = [
    "GPT", "GPTConfig", "FiniteSource", "OnlineSource", "ParityTask", "TrainConfig", "TrainResult", "evaluate",
    "interpretability", "label_row_entropy", "model_preset", "official_min_entropy", "row_normalized_entropy",
    "sample_secret", "teacher_forced_exact_match", "train",
]
