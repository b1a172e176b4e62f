"""Does deciding every k-th step (``check_every=k``) change what the coherent gate does to training?

Runs the seeded digits settings the tests use, with ``check_every`` 1 and k, and prints accuracy, sparsity
(|w| < 1e-3), gate on-fraction (first epoch, last epoch, all epochs) and collapse for each seed:

* the deep-MLP collapse/rescue: 6-hidden-layer MLP, L1 lam=1e-3, 15 epochs (tests/strong_reg/test_train.py);
* the digits CNN: VGG, L1 lam=1e-3, the TrainConfig defaults otherwise.

    python benchmarks/strong_reg/check_every_accuracy.py [--seeds 0,1,2] [--k 4] [--settings mlp6,vgg]

``train()`` builds its regularizer itself and ``TrainConfig`` has no ``check_every`` field (adding one would
change every cached sweep key), so this script swaps in a regularizer class with ``check_every`` preset.
Results go to benchmarks/results/strong_reg_check_every.json.
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

import torch

import quartet.strong_reg.train as train_mod
from quartet.strong_reg.data import load_dataset
from quartet.strong_reg.regularizer import StrongRegularizer
from quartet.strong_reg.train import TrainConfig, train

SETTINGS = {
    "mlp6": dict(model="mlp", depth=6, reg="l1", lam=1e-3, epochs=15, gate="coherent"),
    "vgg": dict(model="vgg", reg="l1", lam=1e-3, gate="coherent"),
}


def run(setting: str, seed: int, k: int, data) -> dict:
    train_mod.StrongRegularizer = functools.partial(StrongRegularizer, check_every=k)
    try:
        r = train(TrainConfig(seed=seed, **SETTINGS[setting]), data=data)
    finally:
        train_mod.StrongRegularizer = StrongRegularizer
    s = r.summary()
    return {"setting": setting, "seed": seed, "check_every": k, "test_accuracy": r.test_accuracy,
            "sparsity": r.sparsity, "on_fraction_last": r.gate_on_fraction,
            "on_fraction_all": s["gate_on_fraction_all_epochs"],
            "on_fraction_first": r.history[0]["on_fraction"],
            "max_on_fraction": max(h["on_fraction"] for h in r.history), "collapsed": r.collapsed, "time_s": r.time_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--settings", default="mlp6,vgg")
    ap.add_argument("--out", default="benchmarks/results/strong_reg_check_every.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = load_dataset("digits")
    rows = []
    print(f"{'setting':7s} {'seed':>4s} {'k':>2s} {'acc':>6s} {'sparsity':>8s} {'on ep0':>6s} {'on last':>7s} "
          f"{'on all':>6s} {'collapsed':>9s} {'s':>5s}", flush=True)
    for setting in args.settings.split(","):
        for seed in (int(v) for v in args.seeds.split(",")):
            for k in (1, args.k):
                r = run(setting, seed, k, data)
                rows.append(r)
                print(f"{setting:7s} {seed:4d} {k:2d} {100 * r['test_accuracy']:5.1f}% "
                      f"{100 * r['sparsity']:7.1f}% {r['on_fraction_first']:6.2f} {r['on_fraction_last']:7.2f} "
                      f"{r['on_fraction_all']:6.2f} {str(r['collapsed']):>9s} {r['time_s']:5.1f}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
