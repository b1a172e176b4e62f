import json
import subprocess
import sys
import types

import pytest

import quartet
from quartet import cli
from quartet.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"quartet {quartet.__version__}"


def test_help_lists_every_sub_app(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("parity", "bilevel", "gemm", "strongreg", "reproduce", "data", "sweep"):
        assert name in out


def test_bad_argument_exits_2_with_one_line():
    proc = subprocess.run([sys.executable, "-m", "quartet.cli", "reproduce", "--seed", "-3"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--seed" in lines[0] and "Traceback" not in proc.stderr


def test_domain_error_is_one_line_and_verbose_shows_traceback(capsys):
    assert main(["reproduce", "--only", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("error: invalid only='nonsense': must be one of 'parity', 'bilevel', "
                           "'gemm', 'strongreg'")
    assert main(["--verbose", "reproduce", "--only", "nonsense"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_unbuilt_sub_app_says_so(monkeypatch, capsys):
    monkeypatch.setitem(cli.SUBAPPS, "ghost", ("quartet.ghost.cli", "ghost", 99, "A paper not built."))
    assert main(["ghost", "run", "--n", "3"]) == 1
    assert "quartet.ghost is not built yet (issue 99)" in capsys.readouterr().err


def test_data_verify_json_reports_source_and_checksum(capsys):
    assert main(["data", "verify", "digits", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip())
    assert report["status"] == "ok" and report["source"] == "scikit-learn (bundled)"
    assert len(report["sha256"]) == 64


def test_reproduce_assembles_sections_from_subpackages(tmp_path, monkeypatch, capsys):
    from quartet.common.report import ReportSection, ReportTable

    def good(out, *, quick, seed, workers=1, cluster=None):
        out.mkdir(parents=True, exist_ok=True)
        return ReportSection("Good paper", "A. Author", f"quick={quick} seed={seed}",
                             tables=[ReportTable("paper vs ours", ["claim", "ours"], [["x", 1]])])

    def bad(out, **kwargs):
        raise RuntimeError("boom")

    for sub, fn in (("goodsub", good), ("badsub", bad)):
        pkg = types.ModuleType(f"quartet.{sub}")
        pkg.__path__ = []
        mod = types.ModuleType(f"quartet.{sub}.experiments")
        mod.reproduce = fn
        monkeypatch.setitem(sys.modules, f"quartet.{sub}", pkg)
        monkeypatch.setitem(sys.modules, f"quartet.{sub}.experiments", mod)
    monkeypatch.setattr(cli, "SUBAPPS", {
        "good": ("quartet.goodsub.cli", "goodsub", 1, ""), "bad": ("quartet.badsub.cli", "badsub", 2, ""),
        "none": ("quartet.nosuchsub.cli", "nosuchsub", 3, "")})
    rc = main(["reproduce", "--quick", "--out", str(tmp_path / "rep"), "--seed", "5"])
    assert rc == 1  # one section failed; the report is still written
    html = (tmp_path / "rep" / "index.html").read_text()
    assert "quick=True seed=5" in html and "paper vs ours" in html
    assert "reproduce failed: RuntimeError: boom" in html
    assert "quartet.nosuchsub is not built yet (issue 3)" in html
    assert capsys.readouterr().out.strip().endswith("index.html")
