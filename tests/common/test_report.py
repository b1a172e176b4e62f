import json

from quartet.common.plotting import new_figure
from quartet.common.report import ReportFigure, ReportSection, ReportTable, build_report


def test_report_holds_figures_tables_and_commands(tmp_path):
    fig, ax = new_figure()
    ax.plot([1, 2, 3])
    png = tmp_path / "src" / "curve.png"
    png.parent.mkdir()
    fig.savefig(png)
    section = ReportSection(
        title="Paper A", paper="Someone et al. 2024", summary="it works",
        figures=[ReportFigure(png, "a curve", "quartet demo experiment curve --quick")],
        tables=[ReportTable("paper vs ours", ["claim", "paper", "ours"], [["x", 1.0, 0.98765]], note="n=3")],
        notes=["stand-in data"])
    missing = ReportSection(title="Paper B", paper="", summary="not built yet", status="not built")
    index = build_report([section, missing], tmp_path / "report")
    html = index.read_text()
    md = (tmp_path / "report" / "report.md").read_text()
    for text in (html, md):
        assert "quartet demo experiment curve --quick" in text
        assert "paper vs ours" in text and "0.9877" in text
        assert "not built" in text and "stand-in data" in text
    copied = list((tmp_path / "report" / "figures").glob("*.png"))
    assert len(copied) == 1 and copied[0].read_bytes() == png.read_bytes()
    assert f"figures/{copied[0].name}" in html
    sections = json.loads((tmp_path / "report" / "sections.json").read_text())
    assert [s["status"] for s in sections] == ["ok", "not built"]
