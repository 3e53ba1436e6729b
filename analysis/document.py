"""A small document model — headings, text, tables, figures — rendered to GitHub Markdown and to one
self-contained HTML file (inline CSS, images as base64 data URIs, nothing fetched from the network).

The report and the comparison build one Document each and render it both ways, so the Markdown and the
HTML always say the same thing. Numbers in tables and text are written by `number` and `format_spread`, so
every document shows them alike.
"""

from __future__ import annotations

import base64
import html
import math
import numbers
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tabulate import tabulate


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    badge: str | None = None  # a verdict shown beside the heading
    anchor: str | None = None  # the HTML id a Link points at (default: from the text)


@dataclass(frozen=True)
class Text:
    text: str
    style: str = "p"  # p | quote | answer (a claim's answer, set in bold)


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    title: str
    caption: str
    path: Path | None  # None: not drawn, and the caption says why


@dataclass(frozen=True)
class Link:
    """One line: lead text, then a link to a heading of the same document."""
    lead: str
    label: str
    target: Heading


@dataclass(frozen=True)
class MatrixRow:
    label: str
    target: Heading | None  # the row's label links there
    cells: list  # one verdict per column, None: not about that column ("—")
    span: str | None = None  # in place of the cells after the first: one note over them all
    tally: str = ""          # under the first cell: how the columns' verdicts add up to it


@dataclass(frozen=True)
class Matrix:
    """A grid of verdicts (supported, contradicted, inconclusive, depends), each cell coloured by its verdict."""
    corner: str
    columns: list[str]
    notes: list[str]  # a second header line under each column, "" for none
    rows: list[MatrixRow]
    caption: str = ""


NOT_ABOUT = "—"


@dataclass
class Document:
    title: str
    blocks: list = field(default_factory=list)

    def add(self, *blocks) -> Document:
        self.blocks.extend(blocks)
        return self


def number(value, digits: int = 3) -> str:
    """Numbers as people read them: 3 significant digits, 1234 as 1234, 1.23e+09, missing as '–'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (bool, str)):
        return str(value)
    if isinstance(value, numbers.Integral) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e6):
        return f"{int(value):d}"
    if 1000 <= abs(value) < 1e6:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def number_range(values) -> str:
    """'0.2–0.9' from the smallest and largest of values, or one number where they round alike."""
    low, high = number(float(min(values))), number(float(max(values)))
    return low if low == high else f"{low}–{high}"


def format_spread(stats: dict, with_n: bool = True) -> str:
    """'1.23 (1.20–1.31, n=3)' from tidy.spread's stats: median, then min–max over the repetitions (left out
    when they round alike)."""
    if not stats["n"]:
        return "–"
    low, high = number(stats["min"]), number(stats["max"])
    inside = ([f"{low}–{high}"] if low != high else []) + ([f"n={stats['n']}"] if with_n else [])
    return number(stats["median"]) + (f" ({', '.join(inside)})" if inside else "")


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text, numbers formatted by `number`."""
    return frame.astype(object).map(lambda v: number(v) if not isinstance(v, str) else v)


# ---- Markdown ----

def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    frame = readable(table.frame)
    if frame.empty:
        return "_(none)_"
    text = tabulate(frame.map(_md_cell).values.tolist(), headers=[_md_cell(c) for c in frame.columns],
                    tablefmt="github", disable_numparse=True)  # cells are text already, formatted by `number`
    return text + (f"\n\n_{table.caption}_" if table.caption else "")


def _md_heading(block: Heading) -> str:
    return block.text + (f" — **{block.badge.upper()}**" if block.badge else "")


def _md_link(label: str, target: Heading) -> str:
    """A link to a heading as GitHub names it: its text lower-cased, punctuation dropped, spaces as hyphens."""
    anchor = re.sub(r"[^\w\- ]", "", _md_heading(target).lower()).replace(" ", "-")
    return f"[{_md_cell(label)}](#{anchor})"


def _md_matrix(matrix: Matrix) -> str:
    rows = []
    for row in matrix.rows:
        label = _md_link(row.label, row.target) if row.target else _md_cell(row.label)
        cells = [cell or NOT_ABOUT for cell in row.cells]
        cells[0] += f" ({row.tally})" if row.tally else ""
        if row.span is not None:
            cells = cells[:1] + [_md_cell(row.span)] + [""] * (len(cells) - 2)
        rows.append([label, *cells])
    headers = [matrix.corner, *(f"{c} ({n})" if n else c for c, n in zip(matrix.columns, matrix.notes))]
    text = tabulate(rows, headers=[_md_cell(h) for h in headers], tablefmt="github", disable_numparse=True)
    return text + (f"\n\n_{matrix.caption}_" if matrix.caption else "")


def to_markdown(document: Document, relative_to: Path) -> str:
    parts = [f"# {document.title}"]
    for block in document.blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {_md_heading(block)}")
        elif isinstance(block, Link):
            parts.append(f"{block.lead}{_md_link(block.label, block.target)}")
        elif isinstance(block, Matrix):
            parts.append(_md_matrix(block))
        elif isinstance(block, Text):
            parts.append({"quote": f"> {block.text}", "answer": f"**{block.text}**"}.get(block.style, block.text))
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Table):
            parts.append(_md_table(block))
        elif isinstance(block, Figure):
            if block.path is None:
                parts.append(f"**{block.title}** — not drawn: {block.caption}")
            else:
                parts.append(f"![{block.title}]({block.path.relative_to(relative_to).as_posix()})\n\n"
                             f"_{block.caption}_")
    return "\n\n".join(parts) + "\n"


# ---- HTML ----

CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans KR",sans-serif;
 max-width:1200px;margin:2em auto;padding:0 1em;color:#1b1f24;background:#fff}
h1{font-size:1.7em;border-bottom:2px solid #d0d7de;padding-bottom:.3em}
h2{font-size:1.35em;margin-top:2em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
h3{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.85em;display:block;overflow-x:auto}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}
tr:nth-child(even) td{background:#fbfcfd}
figure{margin:1em 0 2em}
figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
figcaption,.caption{color:#57606a;font-size:.9em;margin-top:.3em}
blockquote{margin:.5em 0;padding:.2em 1em;border-left:4px solid #d0d7de;color:#57606a}
.note{color:#57606a;font-style:italic}
.answer{font-weight:600}
.missing{padding:1em;background:#fff8c5;border:1px solid #d4a72c;border-radius:6px}
.badge{display:inline-block;padding:.05em .6em;border-radius:1em;font-size:.8em;font-weight:600;
 vertical-align:middle;margin-left:.5em;color:#fff}
.badge.supported{background:#1a7f37}.badge.contradicted{background:#cf222e}.badge.inconclusive{background:#6e7781}
.badge.depends{background:#9a6700}
table.matrix{display:table;width:100%;table-layout:fixed;font-size:.74em}
.matrix th{text-align:center;vertical-align:bottom;font-weight:600;line-height:1.2;overflow-wrap:break-word;
 padding:.3em .1em}
.matrix th small{display:block;font-weight:400;color:#57606a}
.matrix th.claim,.matrix td.claim{text-align:left;width:16em;padding:.3em .4em}
.matrix td{text-align:center;vertical-align:middle;padding:.35em 0;line-height:1.2;white-space:nowrap}
.matrix td.claim{white-space:normal}
.matrix td.all{border-right:3px solid #8c959f}
.matrix td small{display:block;font-size:.75em;opacity:.85;white-space:normal}
.matrix td.supported{background:#c9f0d1;color:#0f5323}
.matrix td.contradicted{background:#ffcfc9;color:#8c0b20}
.matrix td.inconclusive{background:#eaeef2;color:#424a53}
.matrix td.depends{background:#fff1c2;color:#7a4d00}
.matrix td.none{background:#fff;color:#8c959f}
.matrix td.span{background:#fff;color:#57606a;font-style:italic;text-align:left;padding-left:.6em}
"""

def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def _html_id(heading: Heading) -> str:
    return heading.anchor or _slug(heading.text)


def _html_link(label: str, target: Heading) -> str:
    return f'<a href="#{_html_id(target)}">{html.escape(label)}</a>'


def _html_cell(verdict: str | None, extra: str = "", tally: str = "") -> str:
    kind = _slug(verdict) if verdict else "none"
    under = f"<small>{html.escape(tally)}</small>" if tally else ""
    return f'<td class="{kind}{extra}">{html.escape(verdict or NOT_ABOUT)}{under}</td>'


def _html_matrix(matrix: Matrix) -> str:
    headers = "".join(f"<th>{html.escape(column)}" + (f"<small>{html.escape(note)}</small>" if note else "") + "</th>"
                      for column, note in zip(matrix.columns, matrix.notes))
    rows = []
    for row in matrix.rows:
        label = _html_link(row.label, row.target) if row.target else html.escape(row.label)
        cells = [_html_cell(cell, " all", row.tally) if index == 0 else _html_cell(cell)
                 for index, cell in enumerate(row.cells)]
        if row.span is not None:
            cells = cells[:1] + [f'<td class="span" colspan="{len(cells) - 1}">{html.escape(row.span)}</td>']
        rows.append(f'<tr><td class="claim">{label}</td>{"".join(cells)}</tr>')
    caption = f'<p class="caption">{html.escape(matrix.caption)}</p>' if matrix.caption else ""
    return (f'<table class="matrix"><thead><tr><th class="claim">{html.escape(matrix.corner)}</th>{headers}</tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table>{caption}')


def _html_table(table: Table) -> str:
    frame = readable(table.frame)
    if frame.empty:
        return '<p class="note">(none)</p>'
    caption = f'<p class="caption">{html.escape(table.caption)}</p>' if table.caption else ""
    return frame.to_html(index=False, border=0, escape=True) + caption


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _html_block(block) -> str:
    if isinstance(block, Heading):
        badge = (f' <span class="badge {_slug(block.badge)}">{html.escape(block.badge)}</span>'
                 if block.badge else "")
        return f'<h{block.level} id="{_html_id(block)}">{html.escape(block.text)}{badge}</h{block.level}>'
    if isinstance(block, Link):
        return f'<p>{html.escape(block.lead)}{_html_link(block.label, block.target)}</p>'
    if isinstance(block, Matrix):
        return _html_matrix(block)
    if isinstance(block, Text):
        if block.style == "quote":
            return f"<blockquote>{html.escape(block.text)}</blockquote>"
        return f'<p class="{block.style}">{html.escape(block.text)}</p>'
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, Table):
        return _html_table(block)
    if isinstance(block, Figure):
        if block.path is None:
            return (f'<div class="missing"><strong>{html.escape(block.title)}</strong> — not drawn: '
                    f"{html.escape(block.caption)}</div>")
        return (f'<figure><img src="{_data_uri(block.path)}" alt="{html.escape(block.title)}">'
                f"<figcaption>{html.escape(block.caption)}</figcaption></figure>")
    raise TypeError(f"unknown block {block!r}")


def to_html(document: Document) -> str:
    body = "\n".join(_html_block(block) for block in document.blocks)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(document.title)}</title>\n<style>{CSS}</style>\n"
            f"</head>\n<body>\n<h1>{html.escape(document.title)}</h1>\n"
            f"{body}\n</body>\n</html>\n")
