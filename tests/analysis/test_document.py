"""The document model: numbers as text, Markdown tables (tabulate) and HTML tables saying the same thing."""

from __future__ import annotations

import pandas as pd

from analysis import tidy
from analysis.document import Document, Table, format_spread, number, to_html, to_markdown


def test_numbers_as_people_read_them():
    assert number(1048.7) == "1049" and number(float("nan")) == "–" and number(0.0123) == "0.0123"
    assert number(None) == "–" and number(3.0) == "3" and number(2.5e9) == "2.5e+09" and number(True) == "True"


def test_spread_as_text():
    assert format_spread(tidy.spread([3.0, 1.0, 2.0, None])) == "2 (1–3, n=3)"
    assert format_spread(tidy.spread([])) == "–"
    assert format_spread(tidy.spread([1.2345e9, 1.2346e9]), with_n=False) == "1.23e+09"  # min–max round alike


def _markdown(*blocks) -> str:
    return to_markdown(Document("t").add(*blocks), relative_to=None)


def test_markdown_table_is_aligned_escaped_and_captioned_apart():
    frame = pd.DataFrame({"language": ["C#", "a|b"], "wall s": [1.23456, float("nan")], "note": ["two\nlines", ""]})
    lines = _markdown(Table(frame, caption="a caption")).splitlines()
    table = lines[2:6]
    assert table[0] == "| language   | wall s   | note      |"
    assert set(table[1]) == {"|", "-"}
    assert table[2] == "| C#         | 1.23     | two lines |"
    assert table[3] == "| a\\|b       | –        |           |"
    assert len({len(line) for line in table}) == 1  # columns line up
    assert lines[6:] == ["", "_a caption_"]  # a blank line: GitHub would read the caption as a table row


def test_empty_table_says_none_in_both_renderings():
    empty = Table(pd.DataFrame(columns=["a"]))
    assert "_(none)_" in _markdown(empty)
    assert '<p class="note">(none)</p>' in to_html(Document("t").add(empty))


def test_html_table_escapes_cells_and_carries_no_script():
    page = to_html(Document("t").add(Table(pd.DataFrame({"x": ["<b>&"], "y": [0.5]}), caption="c <i>")))
    assert "<td>&lt;b&gt;&amp;</td>" in page and "<td>0.5</td>" in page and "c &lt;i&gt;" in page
    assert "<script" not in page  # the product's page runs no code; the browser test adds its own probe
