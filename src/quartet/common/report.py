"""Report assembly: every subpackage contributes a :class:`ReportSection`; ``build_report`` writes
``index.html`` and ``report.md`` with each figure, each paper-versus-ours table, and under each figure
the exact command that regenerates it.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .runs import to_jsonable, write_json_atomic


@dataclass
class ReportFigure:
    path: Path
    caption: str
    command: str


@dataclass
class ReportTable:
    title: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""


@dataclass
class ReportSection:
    title: str
    paper: str
    summary: str
    figures: list[ReportFigure] = field(default_factory=list)
    tables: list[ReportTable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status: str = "ok"  # "ok", "not built", "failed"
    elapsed_s: float | None = None


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:
            return "nan"
        return f"{value:.4g}"
    return str(value)


def _copy_figure(fig: ReportFigure, assets: Path, out_dir: Path, index: int) -> str:
    """Copy a figure beside the report (the report folder must stand alone) and return its relative path."""
    src = Path(fig.path)
    assets.mkdir(parents=True, exist_ok=True)
    dest = assets / f"{index:02d}-{src.name}"
    if src.resolve() != dest.resolve():
        shutil.copyfile(src, dest)
    return os.path.relpath(dest, out_dir)


def _html_table(table: ReportTable) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in table.rows
    )
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (f"<h3>{html.escape(table.title)}</h3><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>{note}")


def _md_table(table: ReportTable) -> str:
    def cell(v: Any) -> str:
        return _fmt(v).replace("|", "\\|").replace("\n", " ")

    lines = [f"### {table.title}", "", "| " + " | ".join(cell(c) for c in table.columns) + " |",
             "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", f"_{table.note}_"]
    return "\n".join(lines)


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { border-bottom: 2px solid #333; } h2 { margin-top: 2em; border-bottom: 1px solid #aaa; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid #bbb; padding: 4px 8px; text-align: left; } th { background: #f0f0f0; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
code { background: #f4f4f4; padding: 1px 4px; } .note { color: #555; font-size: 0.9em; }
.status-failed { color: #b00; font-weight: bold; } .status-notbuilt { color: #886600; font-weight: bold; }
"""


def build_report(sections: list[ReportSection], out_dir: str | os.PathLike, *,
                 command: str = "quartet reproduce") -> Path:
    """Write ``index.html``, ``report.md`` and ``sections.json`` into ``out_dir``; return the HTML path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    assets = out_dir / "figures"
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    html_parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>quartet report</title>"
                  f"<style>{_CSS}</style></head><body><h1>quartet: four papers, reproduced</h1>"
                  f"<p>Generated {when} by <code>{html.escape(command)}</code>.</p><ul>"]
    html_parts += [f"<li><a href='#s{i}'>{html.escape(s.title)}</a> — {html.escape(s.status)}</li>"
                   for i, s in enumerate(sections)]
    html_parts.append("</ul>")
    md_parts = ["# quartet: four papers, reproduced", "", f"Generated {when} by `{command}`.", ""]

    fig_index = 0
    for i, s in enumerate(sections):
        status_cls = {"failed": "status-failed", "not built": "status-notbuilt"}.get(s.status, "")
        elapsed = f" ({s.elapsed_s:.0f} s)" if s.elapsed_s is not None else ""
        html_parts.append(f"<h2 id='s{i}'>{html.escape(s.title)}</h2>"
                          f"<p><em>{html.escape(s.paper)}</em></p>"
                          f"<p class='{status_cls}'>status: {html.escape(s.status)}{elapsed}</p>"
                          f"<p>{html.escape(s.summary)}</p>")
        md_parts += [f"## {s.title}", "", f"*{s.paper}*", "", f"**status: {s.status}**{elapsed}", "",
                     s.summary, ""]
        for table in s.tables:
            html_parts.append(_html_table(table))
            md_parts += [_md_table(table), ""]
        for fig in s.figures:
            fig_index += 1
            rel = _copy_figure(fig, assets, out_dir, fig_index)
            html_parts.append(f"<figure><img src='{html.escape(rel)}' alt='{html.escape(fig.caption)}'>"
                              f"<figcaption>{html.escape(fig.caption)}<br>regenerate: "
                              f"<code>{html.escape(fig.command)}</code></figcaption></figure>")
            md_parts += [f"![{fig.caption}]({rel})", "", f"{fig.caption}  ", f"regenerate: `{fig.command}`", ""]
        if s.notes:
            html_parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in s.notes) + "</ul>")
            md_parts += [f"- {n}" for n in s.notes] + [""]

    html_parts.append("</body></html>")
    index = out_dir / "index.html"
    index.write_text("\n".join(html_parts))
    (out_dir / "report.md").write_text("\n".join(md_parts) + "\n")
    write_json_atomic(out_dir / "sections.json", to_jsonable(sections))
    return index
