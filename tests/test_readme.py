"""The README's Python example runs as written (a user's first contact must not be stale)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README has no Python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme_example"})
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[0] == "0"  # FC-BiO certified (status 0)
    assert lines[-1].split()[0] == "True"  # the CoT parity model solved k=2
