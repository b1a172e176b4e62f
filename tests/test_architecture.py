"""The layout rules of DESIGN.md, checked on the source: subpackages never import each other,
imports flow cli -> experiments -> methods -> data, and every subpackage has the same shape."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "quartet"
SUBPACKAGES = ["cot_parity", "bilevel", "gemm_tuning", "strong_reg"]
built = [s for s in SUBPACKAGES if (SRC / s / "__init__.py").exists()]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    package = "quartet." + ".".join(path.relative_to(SRC).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this file's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                names.add(module)
                names.update(f"{module}.{alias.name}" for alias in node.names)
            elif node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("sub", built)
def test_subpackages_never_import_each_other(sub):
    others = [f"quartet.{o}" for o in SUBPACKAGES if o != sub]
    for path in (SRC / sub).rglob("*.py"):
        bad = [n for n in _imports(path) if any(n == o or n.startswith(o + ".") for o in others)]
        assert not bad, f"{path.relative_to(SRC)} imports {bad}"


@pytest.mark.parametrize("sub", built)
def test_imports_flow_one_way(sub):
    """Method and data files never import experiments, plots or the CLI; experiments never import the CLI."""
    upper = {"cli": 3, "experiments": 2, "plots": 2}
    for path in (SRC / sub).rglob("*.py"):
        level = upper.get(path.stem, 1)
        for name in _imports(path):
            parts = name.split(".")
            if len(parts) >= 3 and parts[:2] == ["quartet", sub] and parts[2] in upper:
                assert upper[parts[2]] < level or parts[2] == path.stem or (
                    path.stem == "experiments" and parts[2] == "plots"), \
                    f"{path.relative_to(SRC)} imports {name}"


@pytest.mark.parametrize("sub", built)
def test_every_subpackage_has_the_same_shape(sub):
    for name in ("__init__.py", "experiments.py", "plots.py", "cli.py"):
        assert (SRC / sub / name).exists(), f"quartet.{sub} lacks {name}"
    tree = ast.parse((SRC / sub / "experiments.py").read_text())
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "reproduce" in functions, f"quartet.{sub}.experiments has no reproduce()"


def test_common_imports_no_subpackage():
    for path in (SRC / "common").rglob("*.py"):
        bad = [n for n in _imports(path) if any(n.startswith(f"quartet.{s}") for s in SUBPACKAGES)]
        # the dataset registry imports subpackages' data modules by name, at run time, on purpose
        assert not bad, f"{path.relative_to(SRC)} imports {bad}"
