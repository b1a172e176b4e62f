"""Run every benchmark script under benchmarks/<sub>/bench_*.py, one after another.

Each script prints and saves its own side-by-side ratios (into benchmarks/results/). Timing on a
small machine is noisy: the scripts compare ratios measured in one run and take medians.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
scripts = sorted(here.glob("*/bench_*.py"))
failed = []
for script in scripts:
    print(f"== {script.relative_to(here.parent)}", flush=True)
    if subprocess.run([sys.executable, str(script)], cwd=here.parent).returncode != 0:
        failed.append(script.name)
if not scripts:
    print("no benchmarks yet")
if failed:
    sys.exit(f"failed: {', '.join(failed)}")
