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
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tabulate import tabulate


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    badge: str | None = None  # a verdict shown beside the heading


@dataclass(frozen=True)
class Text:
    text: str
    style: str = "p"  # p | quote


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


def to_markdown(document: Document, relative_to: Path) -> str:
    parts = [f"# {document.title}"]
    for block in document.blocks:
        if isinstance(block, Heading):
            badge = f" — **{block.badge.upper()}**" if block.badge else ""
            parts.append(f"{'#' * block.level} {block.text}{badge}")
        elif isinstance(block, Text):
            parts.append(("> " if block.style == "quote" else "") + block.text)
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
.missing{padding:1em;background:#fff8c5;border:1px solid #d4a72c;border-radius:6px}
.badge{display:inline-block;padding:.05em .6em;border-radius:1em;font-size:.8em;font-weight:600;
 vertical-align:middle;margin-left:.5em;color:#fff}
.badge.supported{background:#1a7f37}.badge.contradicted{background:#cf222e}.badge.inconclusive{background:#6e7781}
"""

def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


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
        return f'<h{block.level} id="{_slug(block.text)}">{html.escape(block.text)}{badge}</h{block.level}>'
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
