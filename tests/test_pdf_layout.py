"""The PDF reader's layout steps give what they gave before they were made linear.

Finding the gutters between columns asked every column again after each gap it dropped, and grouping
fragments into rows took the extent of the whole row for each new fragment: a page of thousands of
narrow columns, or of thousands of overlapping text runs, took minutes. The reference functions below
are the old code, kept to check that the new gives the same on any page.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coder.extract import pdf
from coder.extract.pdf import _MIN_COLUMN_FRAGMENTS, _MIN_COLUMN_SHARE, _Fragment


def gutters_before(fragments: list[_Fragment]) -> list[tuple[float, float]]:
    """The old search for the gaps to keep (the candidate gaps are found as they were)."""
    found = pdf._gaps_between_narrow(fragments)
    if found is None:
        return []
    narrow, gaps, left, right = found
    width = right - left
    while gaps:
        bounds = [left, *[edge for gap in gaps for edge in gap], right]
        columns = [(bounds[2 * i], bounds[2 * i + 1]) for i in range(len(gaps) + 1)]
        weak = None
        for i, (start, end) in enumerate(columns):
            inside = [f for f in narrow if f.x0 >= start - 0.5 and f.x1 <= end + 0.5]
            if len(inside) < _MIN_COLUMN_FRAGMENTS or end - start < _MIN_COLUMN_SHARE * width:
                weak = i
                break
        if weak is None:
            return gaps
        gaps.pop(weak - 1 if weak == len(gaps) else weak)
    return []


def rows_before(fragments: list[_Fragment]) -> list[list[_Fragment]]:
    rows: list[list[_Fragment]] = []
    for fragment in sorted(fragments, key=lambda f: (-f.top, f.x0)):
        if rows:
            row = rows[-1]
            low, high = min(f.bottom for f in row), max(f.top for f in row)
            if low <= (fragment.bottom + fragment.top) / 2 <= high:
                row.append(fragment)
                continue
        rows.append([fragment])
    return rows


# Positions on a coarse grid (halves of a point), so that gaps near the 0.5 point tolerance and
# columns at the 18% share come up often.
coordinate = st.integers(min_value=0, max_value=400).map(lambda half_points: half_points / 2)


@st.composite
def fragments(draw, min_size=1):
    found = []
    for _ in range(draw(st.integers(min_value=min_size, max_value=40))):
        x0, bottom = draw(coordinate), draw(coordinate)
        found.append(_Fragment(x0=x0, x1=x0 + draw(st.integers(1, 120)) / 2, bottom=bottom,
                               top=bottom + draw(st.integers(1, 30)) / 2, text=draw(st.sampled_from(["a", "b c", "12"]))))
    return found


@settings(max_examples=400, deadline=None)
@given(fragments())
def test_the_gutters_are_those_of_the_old_search(page):
    assert pdf._gutters(page) == gutters_before(page)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 5)), min_size=1, max_size=8))
def test_the_gutters_of_columns_of_text_are_those_of_the_old_search(columns):
    """Pages with real columns: `columns` gives each column's line count and width (in 10-point steps)."""
    page, x = [], 0.0
    for lines, width in columns:
        for line in range(lines):
            page.append(_Fragment(x0=x, x1=x + 10 * (width + 1), bottom=700 - 12 * line, top=710 - 12 * line, text="a"))
        x += 10 * (width + 1) + 20
    assert pdf._gutters(page) == gutters_before(page)


def test_three_columns_of_text_have_two_gutters():
    page = [_Fragment(x0=x, x1=x + 150, bottom=700 - 12 * line, top=710 - 12 * line, text="a")
            for x in (0, 170, 340) for line in range(5)]
    assert pdf._gutters(page) == gutters_before(page) == [(150, 170), (320, 340)]


@settings(max_examples=300, deadline=None)
@given(fragments())
def test_the_lines_of_a_run_are_those_of_the_old_grouping(run):
    lines = pdf._run_lines(run, page=1)
    assert [line.fragments for line in lines] == [
        sorted(row, key=lambda f: -f.x1 if pdf._RTL.match(f.text) else f.x0) for row in rows_before(run)]


def rejoined_before(lines: list[pdf._Line], words: set[str]) -> None:
    import re

    previous = None
    for line in lines:
        if not line.text:
            continue
        if previous is not None and not line.paragraph:
            text = previous.text
            if len(text) >= 2 and text[-1] in pdf._HYPHENS and text[-2].isalpha() and line.text[0].islower():
                head = re.search(r"[^\W\d_]+$", text[:-1])
                token = line.text.split(maxsplit=1)
                tail = re.match(r"[^\W\d_]+", token[0])
                if head and tail:
                    first, second = head.group().lower(), tail.group().lower()
                    keep = (text[-1] not in pdf._SOFT_HYPHENS and f"{first}-{second}" in words
                            and f"{first}{second}" not in words)
                    previous.text = text[:-1] + ("-" if keep else "") + token[0]
                    line.text = token[1] if len(token) > 1 else ""
                    if not line.text:
                        continue
            elif text[-1] in pdf._SOFT_HYPHENS:
                previous.text = text[:-1]
        previous = line
    if previous is not None and previous.text and previous.text[-1] in pdf._SOFT_HYPHENS:
        previous.text = previous.text[:-1]


line_text = st.text(alphabet="abAB1_ é-\u00ad\u2010.", max_size=12)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(line_text, st.booleans()), min_size=1, max_size=6), st.sets(st.sampled_from(
    ["ab-ab", "abab", "a-b", "ab", "é-a", "éa"])))
def test_hyphenated_words_are_rejoined_as_before(texts, words):
    """Rejoining a word hyphenated at a line end now finds the letters before the hyphen from the end
    (the search for them tried every start in a long run of letters): the same lines come out."""
    new = [pdf._Line(page=1, text=text, paragraph=paragraph) for text, paragraph in texts]
    old = [pdf._Line(page=1, text=text, paragraph=paragraph) for text, paragraph in texts]
    pdf._rejoin_hyphenated(new, words)
    rejoined_before(old, words)
    assert [line.text for line in new] == [line.text for line in old]


def test_centred_title_lines_and_page_number_hide_no_gutter():
    """py-pdf's multicolumn.pdf (a LaTeX article): its author and date lines, centred above two columns,
    and its page number, centred below, crossed the gutter; the page was read across both columns,
    line by line, word halves of the two columns rejoined into non-words (probe H10)."""
    def line(x0, x1, top, text="a"):
        return _Fragment(x0=x0, x1=x1, bottom=top - 10, top=top, text=text)

    page = [line(156, 455, 687, "Two-Column Document"), line(277, 335, 655, "Your Name"),
            line(265, 346, 631, "January 3, 2024"), line(72, 134, 596, "Abstract"), line(303, 308, 60, "1")]
    page += [line(72, 300, 571 - 12 * row, f"left {row}") for row in range(30)]
    page += [line(311, 539, 596 - 12 * row, f"right {row}") for row in range(30)]
    assert pdf._gutters(page) == [(300, 311)]
    texts = [line.text for line in pdf._reading_order(page, page=1)]
    assert texts.index("left 29") < texts.index("right 0")
    assert texts[:4] == ["Two-Column Document", "Your Name", "January 3, 2024", "Abstract"]
