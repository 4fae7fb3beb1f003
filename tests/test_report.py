"""The report page: its data set, the files and defaults around it, and the page in headless Chromium."""

from __future__ import annotations

import base64
import json
import re
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from conftest import (
    HOSTILE_CODEBOOK,
    PWNED_IMG,
    PWNED_SCRIPT,
    SMALL_PATHS,
    SMALL_ROWS,
    chromium_driver,
    console_problems,
    invoke,
    open_drawn_page,
    segment_frame,
)
from conftest import requests_leaving as requests_leaving_page
from hypothesis import given, settings
from hypothesis import strategies as st

from coder.models import NetworkOptions
from coder.report import report_data
from coder.runner import write_network_outputs

ROOT = Path(__file__).resolve().parents[1]

# conftest's hostile codebook under this page's own name (one title assertion checks it).
CODEBOOK = replace(HOSTILE_CODEBOOK, name="Report <b>test</b>")
WORDS = {"admin": "red tape", "local": "地方保护", "gov": "governance"}


def frame(rows: list[tuple[str, int, str]]) -> pd.DataFrame:
    return segment_frame(
        rows, code_path=lambda document, passage, code: SMALL_PATHS[code],
        matched=lambda document, passage, code: WORDS[code],
        text=lambda document, passage, code: f"Red tape, governance and 地方保护 in {document}. {PWNED_SCRIPT} {PWNED_IMG}",
    )


SMALL = frame(SMALL_ROWS)
DOCUMENTS = pd.DataFrame({"document": ["d1", "d2"], "region": ["Yangtze", PWNED_SCRIPT], "year": [2019, 2020]})


def page_data(path: Path) -> dict:
    match = re.search(r'<script type="application/json" id="coder-data">(.*?)</script>', path.read_text(encoding="utf-8"),
                      re.DOTALL)
    return json.loads(match.group(1))


# --- the data set -----------------------------------------------------------------------------


def test_report_data_holds_codes_levels_and_passage_code_sets():
    data = report_data(SMALL, CODEBOOK, total_passages=6, documents=DOCUMENTS)
    assert [(code["id"], code["path"], code["own"]) for code in data["codes"]] == [
        ("barriers", ["barriers"], False), ("admin", ["barriers", "admin"], True),
        ("local", ["barriers", "local"], True), ("gov", ["gov"], True),
    ]
    assert data["levels"] == [1, 0]
    assert data["total_passages"] == 6
    assert data["documents"] == ["d1", "d2"]
    assert data["words"] == ["red tape", "governance", "地方保护"]
    assert [record[:2] + [record[3], record[4]] for record in data["passages"]] == [
        [0, 0, [1, 3], [[0], [1]]], [0, 1, [1, 2, 3], [[0], [2], [1]]], [0, 2, [2], [[2]]],
        [1, 0, [1, 3], [[0], [1]]], [1, 1, [3], [[1]]],
    ]
    assert data["variables"] == {"region": ["Yangtze", PWNED_SCRIPT], "year": [2019, 2020]}
    assert data["defaults"] == {"measure": "jaccard", "min_count": 2, "top_edges": 60, "level": 0,
                                "hide_isolated": False, "color_by": "code", "weak": "hidden"}
    assert set(data["layouts"]) == {"1", "0"} and set(data["layouts"]["0"]) == {"admin", "local", "gov"}
    assert data["communities"]["1"] == {"barriers": 1, "gov": 1}


@pytest.mark.parametrize("rows, sets", [
    # d1 ¶0-2 admin+gov, d1 ¶3 admin, d2 ¶0 gov+admin (in another order): three entries, five passages
    ([("d1", 0, "admin"), ("d1", 0, "gov"), ("d1", 1, "admin"), ("d1", 1, "gov"), ("d1", 2, "gov"), ("d1", 2, "admin"),
      ("d1", 3, "admin"), ("d2", 0, "gov"), ("d2", 0, "admin")],
     [[0, 1, [1]], [0, 3, [1, 3]], [1, 1, [1, 3]]]),
])
def test_report_data_counts_passages_coded_alike_once_with_their_number(rows, sets):
    data = report_data(frame(rows), CODEBOOK, total_passages=5)
    assert data["sets"] == sets
    assert data["sample"] is None and len(data["passages"]) == 5  # every passage listed below the cap


@pytest.mark.parametrize("shown, per_code", [(3, 1)])
def test_report_data_lists_a_seeded_sample_past_the_cap_and_counts_every_passage(monkeypatch, shown, per_code):
    import coder.report

    monkeypatch.setattr(coder.report, "PASSAGES_SHOWN", shown)
    monkeypatch.setattr(coder.report, "SAMPLE_PER_CODE", per_code)
    rows = [(f"d{number % 4}", number, code) for number in range(40) for code in (["admin", "gov"] if number % 3 else ["gov"])]
    rows.append(("d9", 0, "local"))  # a code of one passage still has its example listed
    data = report_data(frame(rows), CODEBOOK, total_passages=50)
    assert data["sample"] == {"shown": 3, "coded": 41, "seed": 42, "per_code": 1}
    listed = [(data["documents"][record[0]], record[1]) for record in data["passages"]]
    assert len(listed) == 3 and ("d9", 0) in listed
    assert {code for record in data["passages"] for code in record[3]} == {1, 2, 3}
    assert sum(count for _, count, _ in data["sets"]) == 41
    assert sum(count for _, count, codes in data["sets"] if codes == [1, 3]) == 26  # exact: 40 - 14 multiples of 3
    assert report_data(frame(rows), CODEBOOK, total_passages=50)["passages"] == data["passages"]  # seeded


@pytest.mark.parametrize("shown", [3, 5_000])
def test_report_data_same_from_categorical_text(monkeypatch, shown):
    # Coding hands over the passage text as a categorical (each text once); the page must not change.
    import coder.report

    monkeypatch.setattr(coder.report, "PASSAGES_SHOWN", shown)
    plain = frame([*SMALL_ROWS, ("d3", 7, "gov")])
    categorical = plain.assign(text=plain["text"].astype("category"))
    assert report_data(categorical, CODEBOOK, total_passages=9) == report_data(plain, CODEBOOK, total_passages=9)


@pytest.mark.parametrize("length", [2000])
def test_report_data_cuts_long_passages_around_the_matched_words(length):
    long = segment_frame([("d", 0, "admin")], code_path="barriers/admin", matched="needle",
                         text="a " * length + "needle" + " b" * length)
    text = report_data(long, CODEBOOK)["passages"][0][2]
    assert len(text) <= 604 and "needle" in text and text.startswith("… ") and text.endswith(" …")


def test_report_written_with_network_html_opening_it(tmp_path):
    written = write_network_outputs(SMALL, CODEBOOK, tmp_path, total_passages=6)
    assert written["report"] == tmp_path / "report.html"
    old = (tmp_path / "network.html").read_text(encoding="utf-8")
    assert '<meta http-equiv="refresh" content="0; url=report.html">' in old and '<a href="report.html">' in old
    assert len(old) < 500
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<title>Report &lt;b&gt;test&lt;/b&gt;</title>" in text
    assert PWNED_SCRIPT not in text and PWNED_IMG not in text
    assert "default-src 'none'; script-src 'sha256-" in text and "connect-src 'none'" in text


@pytest.mark.parametrize("arguments, drawn", [
    ((), 1),                          # defaults: a link needs 2 shared passages
    (("--min-count", "1"), 3),
    (("--min-count", "1", "--top-edges", "2"), 2),
    (("--min-count", "1", "--top-edges", "0"), 3),  # 0 keeps every link
])
def test_report_cli_network_defaults_show_evidence(tmp_path, arguments, drawn):
    from coder.runs import RunFolder

    out = tmp_path / "run"
    out.mkdir()
    SMALL.to_csv(out / "segments.csv", index=False)
    assert RunFolder(out).segments_path.name == "segments.csv"
    result = invoke("network", str(out / "segments.csv"), "--out", str(tmp_path / "net"), "-q", *arguments)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "net" / "cooccurrence.csv")
    assert int(table["in_network"].sum()) == drawn


def test_report_network_options_defaults():
    assert (NetworkOptions().min_count, NetworkOptions().top_edges) == (2, 60)


# --- the page in headless Chromium -----------------------------------------------------------


@pytest.fixture(scope="module")
def driver():
    driver = chromium_driver()
    yield driver
    driver.quit()


def open_report(driver, path: Path) -> None:
    open_drawn_page(driver, path, what="report")


def written_report(tmp_path: Path, segments: pd.DataFrame = SMALL, **options) -> Path:
    write_network_outputs(segments, CODEBOOK, tmp_path, total_passages=6, documents=DOCUMENTS,
                          options=NetworkOptions(**options))
    return tmp_path / "report.html"



def requests_leaving(driver) -> list[str]:
    return requests_leaving_page(driver, allowed=("file:", "data:", "blob:"))  # PNG export makes a blob URL


PAINTED = """
var c = document.querySelector('#coder-network canvas');
var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, n = 0;
for (var i = 0; i < d.length; i += 4) { if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) n++; }
return n;
"""
SAFE = """
return [typeof window.__pwned, document.querySelectorAll('main script, main img, main b, aside script, aside img, aside b').length];
"""


def show(driver, view: str) -> dict:
    driver.execute_script("window.coderReport.show(arguments[0])", view)
    return driver.execute_script(
        "var v = document.getElementById('coder-view-' + arguments[0]), r = v.getBoundingClientRect();"
        "return {hidden: v.hidden, height: r.height, cells: v.querySelectorAll('td, canvas').length, text: v.textContent};",
        view)


@pytest.mark.browser
def test_report_each_view_renders_offline_without_console_errors(driver, tmp_path):
    open_report(driver, written_report(tmp_path, min_count=1))
    assert driver.execute_script(PAINTED) > 500
    assert driver.execute_script("return document.getElementById('coder-summary').textContent") == (
        "3 codes · 3 links drawn of 3 co-occurring pairs · N = 6 passages · node size: passages · link width: Jaccard")
    legend = driver.execute_script("return Array.from(document.querySelectorAll('#coder-legend li')).map(l => l.textContent)")
    assert legend == ["Barriers — 2 codes", "Governance <b>bold</b> — 1 code"]
    matrix = show(driver, "matrix")
    assert not matrix["hidden"] and matrix["height"] > 100 and matrix["cells"] == 9
    frequencies = show(driver, "frequencies")
    assert not frequencies["hidden"] and frequencies["cells"] > 9 and "地方保护" in frequencies["text"]
    driver.execute_script("var i = document.getElementById('coder-kwic-code'); i.value = 'governance';"
                          "i.dispatchEvent(new Event('change'));")
    kwic = show(driver, "kwic")
    assert not kwic["hidden"] and "Governance <b>bold</b>: 4 lines" in kwic["text"]
    assert driver.execute_script("return Array.from(document.querySelectorAll('#coder-kwic mark')).map(m => m.textContent)") == [
        "governance"] * 4
    assert show(driver, "map")["cells"] == 1
    assert console_problems(driver) == []
    assert requests_leaving(driver) == []


@pytest.mark.browser
@pytest.mark.parametrize("changes, nodes, links", [
    ({}, ["admin", "local", "gov"], [["admin", "gov", 3]]),
    ({"min_count": 1}, ["admin", "local", "gov"], [["admin", "gov", 3], ["admin", "local", 1], ["local", "gov", 1]]),
    ({"min_count": 1, "top_edges": 1}, ["admin", "local", "gov"], [["admin", "gov", 3]]),
    ({"hide_isolated": True}, ["admin", "gov"], [["admin", "gov", 3]]),
    ({"level": 1, "min_count": 1}, ["barriers", "gov"], [["barriers", "gov", 3]]),
    ({"weak": "faint"}, ["admin", "local", "gov"], [["admin", "local", 1], ["local", "gov", 1], ["admin", "gov", 3]]),
    # in a group, codes no passage of it codes stay on the map, as uncoded codes do
    ({"group": "year\u00002020", "min_count": 1}, ["admin", "local", "gov"], [["admin", "gov", 1]]),
    ({"color_by": "community"}, ["admin", "local", "gov"], [["admin", "gov", 3]]),
])
def test_report_controls_change_what_is_drawn(driver, tmp_path, changes, nodes, links):
    open_report(driver, written_report(tmp_path))
    before = driver.execute_script("return window.coderNetwork.canvas.frame.canvas.toDataURL()")
    driver.execute_script("window.coderReport.set(arguments[0])", changes)
    drawn = driver.execute_script("return window.coderReport.drawnCodes()")
    assert sorted(drawn) == sorted(nodes)
    assert [link[:3] for link in driver.execute_script("return window.coderReport.drawnLinks()")] == links
    if changes not in ({}, {"min_count": 1, "top_edges": 1}):  # the same map, drawn the same
        driver.execute_script("window.coderNetwork.redraw()")
        assert driver.execute_script("return window.coderNetwork.canvas.frame.canvas.toDataURL()") != before
    assert console_problems(driver) == []


@pytest.mark.browser
def test_report_faint_links_are_counted_and_said_to_be_cut(driver, tmp_path):
    """With weaker links faint, the summary counted only the strong links, and the note implied every weak
    link was drawn while only as many as --top-edges were."""
    open_report(driver, written_report(tmp_path))
    driver.execute_script("window.coderReport.set(arguments[0])", {"weak": "faint", "top_edges": 1})
    summary = driver.execute_script("return document.getElementById('coder-summary').textContent")
    assert summary.startswith("3 codes · 1 link drawn (and 1 weaker, faint) of 3 co-occurring pairs")
    key = driver.execute_script("return document.getElementById('coder-explain').textContent")
    assert "(the 1 strongest of 2 such links, as many as the strong ones)" in key
    assert console_problems(driver) == []


@pytest.mark.browser
def test_report_form_controls_redraw_the_map(driver, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_report(driver, written_report(tmp_path))
    assert len(driver.execute_script("return window.coderReport.drawnLinks()")) == 1
    field = driver.find_element(By.CSS_SELECTOR, "#coder-controls input[name=min_count]")
    field.clear()
    field.send_keys("1\t")
    assert len(driver.execute_script("return window.coderReport.drawnLinks()")) == 3
    Select(driver.find_element(By.CSS_SELECTOR, "#coder-controls select[name=measure]")).select_by_value("count")
    widths = {tuple(link[:2]): link[3] for link in driver.execute_script("return window.coderReport.drawnLinks()")}
    assert widths[("admin", "gov")] == 9 and widths[("admin", "local")] == 1
    assert "link width: count" in driver.execute_script("return document.getElementById('coder-summary').textContent")


@pytest.mark.browser
def test_report_matrix_cell_lists_the_passages_of_cooccurrence_csv(driver, tmp_path):
    from selenium.webdriver.common.by import By

    path = written_report(tmp_path, min_count=1)
    table = pd.read_csv(tmp_path / "cooccurrence.csv")
    open_report(driver, path)
    show(driver, "matrix")
    for row in table.itertuples(index=False):
        driver.find_element(By.CSS_SELECTOR, f'#coder-matrix td[data-source="{row.source}"][data-target="{row.target}"]').click()
        listed = driver.execute_script(
            "return Array.from(document.querySelectorAll('#coder-passages .passage')).map(p => [p.dataset.document, +p.dataset.passage,"
            " Array.from(p.querySelectorAll('mark')).map(m => m.textContent)]);")
        assert len(listed) == row.count
        assert len({document for document, _, _ in listed}) == row.documents
        assert [listed[0][0], listed[0][1]] == [row.example_document, row.example_passage]
        words = {WORDS[row.source].lower(), WORDS[row.target].lower()}
        assert all({mark.lower() for mark in marks} == words for _, _, marks in listed)
    assert driver.execute_script(SAFE) == ["undefined", 0]
    assert console_problems(driver) == []


@pytest.mark.browser
def test_report_sampled_page_says_so_and_keeps_every_count(driver, tmp_path, monkeypatch):
    import coder.report

    monkeypatch.setattr(coder.report, "PASSAGES_SHOWN", 2)
    monkeypatch.setattr(coder.report, "SAMPLE_PER_CODE", 0)
    open_report(driver, written_report(tmp_path, min_count=1))
    assert driver.execute_script("return document.getElementById('coder-summary').textContent") == (
        "3 codes · 3 links drawn of 3 co-occurring pairs · N = 6 passages · node size: passages · link width: Jaccard"
        " · passage lists: a sample of 2 of the 5 coded passages (0 per code, the rest drawn with seed 42); counts are"
        " of all passages")
    show(driver, "matrix")
    driver.execute_script("document.querySelector('#coder-matrix td[data-source=\"admin\"][data-target=\"gov\"]').click()")
    details = driver.execute_script("return document.getElementById('coder-details').textContent")
    listed = driver.execute_script("return document.querySelectorAll('#coder-passages .passage').length")
    assert f"3 passages coded by both ({listed} of them shown: a sample of 2 of the 5 coded passages" in details
    assert listed <= 2
    assert console_problems(driver) == []


@pytest.mark.browser
def test_report_clicking_a_link_lists_its_passages(driver, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    open_report(driver, written_report(tmp_path))
    point = driver.execute_script(
        "var n = window.coderNetwork, r = window.coderReport, a = n.getPosition(r.node('admin')), b = n.getPosition(r.node('gov'));"
        "return n.canvasToDOM({x: (a.x + b.x) / 2, y: (a.y + b.y) / 2});")
    canvas = driver.find_element(By.CSS_SELECTOR, "#coder-network canvas")
    size = canvas.size
    ActionChains(driver).move_to_element_with_offset(
        canvas, int(point["x"] - size["width"] / 2), int(point["y"] - size["height"] / 2)).click().perform()
    listed = driver.execute_script("return Array.from(document.querySelectorAll('#coder-passages .where')).map(p => p.textContent)")
    assert listed == ["d1 ¶0", "d1 ¶1", "d2 ¶0"]


@pytest.mark.browser
def test_report_exports_png_and_svg_of_what_is_shown(driver, tmp_path):
    open_report(driver, written_report(tmp_path))
    url = driver.execute_script("return window.coderReport.png()")
    assert url.startswith("data:image/png;base64,")
    image = base64.b64decode(url.split(",", 1)[1])
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) > 2000
    width, height = int.from_bytes(image[16:20], "big"), int.from_bytes(image[20:24], "big")
    assert width > 300 and height > 200
    svg = driver.execute_script("return window.coderReport.svg()")
    assert svg.startswith("<svg") and svg.count("<circle") == 3 and svg.count("<line") == 1
    assert "Governance &lt;b&gt;bold&lt;/b&gt;" in svg and "地方保护" in svg
    assert console_problems(driver) == []


@pytest.mark.browser
def test_report_markup_from_corpus_codebook_and_documents_never_runs(driver, tmp_path):
    open_report(driver, written_report(tmp_path, min_count=1))
    driver.execute_script("window.coderReport.set({group: 'region\\u0000' + arguments[0]})", PWNED_SCRIPT)
    assert driver.execute_script("return window.coderReport.drawnLinks().length") == 1  # d2 alone
    options = driver.execute_script("return Array.from(document.querySelectorAll('select[name=group] option')).map(o => o.textContent)")
    assert f"region = {PWNED_SCRIPT}" in options
    driver.execute_script("window.coderReport.set({group: ''})")
    show(driver, "matrix")
    driver.execute_script("document.querySelector('#coder-matrix td[data-source]').click()")
    assert PWNED_SCRIPT in driver.execute_script("return document.getElementById('coder-details').textContent")
    driver.execute_script("var s = document.getElementById('coder-columns'); s.value = 'region'; s.dispatchEvent(new Event('change'));")
    assert PWNED_SCRIPT in show(driver, "frequencies")["text"]
    driver.execute_script("var i = document.getElementById('coder-kwic-code'); i.value = 'administrative';"
                          "i.dispatchEvent(new Event('change'));")
    assert "Administrative barriers" in show(driver, "kwic")["text"]
    assert driver.execute_script(SAFE) == ["undefined", 0]
    assert console_problems(driver) == []


BUILT_IN_NAMES = ("__proto__", "hasOwnProperty", "toString", "valueOf", "constructor")


@pytest.mark.browser
def test_report_codes_and_values_named_like_javascript_built_ins(driver, tmp_path, monkeypatch):
    """A code id, label or documents.csv value such as `constructor` was looked up as Object's own member:
    the node was not drawn, the legend was empty, the matrix and frequencies threw. Two top-level codes
    with one label were one legend entry, though each has its own colour."""
    from conftest import invoke

    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("alpha beta gamma delta epsilon.\n\nalpha beta and gamma.\n", encoding="utf-8")
    (tmp_path / "corpus" / "b.txt").write_text("alpha delta epsilon here.\n", encoding="utf-8")
    (tmp_path / "documents.csv").write_text("document,region\na.txt,constructor\nb.txt,__proto__\n", encoding="utf-8")
    words = ("alpha", "beta", "gamma", "delta", "epsilon")
    codes = "".join(f"  {code}:\n    keywords: [{word}]\n    label: {'constructor' if code == 'toString' else 'Same'}\n"
                    for code, word in zip(BUILT_IN_NAMES, words))
    (tmp_path / "codebook.yaml").write_text("codes:\n" + codes, encoding="utf-8")
    result = invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "out", "--documents", "documents.csv")
    assert result.exit_code == 0, result.output
    open_report(driver, tmp_path / "out" / "report.html")
    assert sorted(driver.execute_script("return window.coderReport.drawnCodes()")) == sorted(BUILT_IN_NAMES)
    positions = driver.execute_script("return Object.values(window.coderNetwork.getPositions()).map(p => [p.x, p.y])")
    assert all(value == value for point in positions for value in point)  # no NaN
    legend = driver.execute_script("return Array.from(document.querySelectorAll('#coder-legend li')).map(l => l.textContent)")
    assert sorted(legend) == ["Same — 1 code"] * 4 + ["constructor — 1 code"]
    assert show(driver, "matrix")["cells"] == 25
    driver.execute_script("var s = document.getElementById('coder-columns'); s.value = 'region'; s.dispatchEvent(new Event('change'));")
    frequencies = show(driver, "frequencies")["text"]
    assert "constructor" in frequencies and "__proto__" in frequencies
    driver.execute_script("window.coderReport.set({group: 'region\\u0000constructor', min_count: 1})")
    assert driver.execute_script("return window.coderReport.drawnLinks().length") > 0
    assert console_problems(driver) == []


@pytest.fixture(scope="module")
def seeds_report(tmp_path_factory) -> Path:
    from coder.runner import run_coding

    out = tmp_path_factory.mktemp("seeds")
    run_coding(ROOT / "seeds", ROOT / "codebook.yaml", out, workers=1, use_cache=False)
    return out / "report.html"


@pytest.mark.browser
@pytest.mark.parametrize("changes", [{}, {"level": 1}, {"min_count": 1, "top_edges": 0}])
def test_report_labels_do_not_overlap_on_the_seeds(driver, seeds_report, changes):
    open_report(driver, seeds_report)
    driver.execute_script("window.coderReport.set(arguments[0])", changes)
    driver.execute_script("window.coderNetwork.redraw()")
    assert driver.execute_script("return window.coderReport.labelOverlaps()") == 0
    assert console_problems(driver) == []


@pytest.mark.browser
@pytest.mark.parametrize("rows, codebook, message", [
    ([], None, "No coded passages: nothing to draw. Check the codebook's keywords, or the review column "
               "(rejected rows are left out)."),
    # codes that code nothing are on the map, but nothing was coded (it said "3 codes, but no two codes share a passage")
    ([], CODEBOOK, "No coded passages: nothing to draw. Check the codebook's keywords, or the review column "
                   "(rejected rows are left out)."),
    ([("d1", 0, "admin")], CODEBOOK, "3 codes, but no two codes share a passage: no links to draw."),
    ([("d1", 0, "admin"), ("d1", 0, "gov")], CODEBOOK,
     "3 codes, but no two codes share 2 passages or more: no links to draw. Lower the minimum, or show weaker links faint."),
])
def test_report_empty_maps_say_so(driver, tmp_path, rows, codebook, message):
    segments = frame(rows) if rows else frame([("d1", 0, "admin")]).iloc[:0]
    write_network_outputs(segments, codebook, tmp_path)
    open_report(driver, tmp_path / "report.html")
    shown = driver.execute_script("var m = document.getElementById('coder-message'); return [m.hidden, m.textContent];")
    assert shown == [False, message]
    for view in ("matrix", "frequencies", "kwic", "map"):
        show(driver, view)
    assert console_problems(driver) == []


@pytest.mark.parametrize("title, label", [("New <title> & \u2028", "Barriers </script> \u2029"), ("Test", "Plain"),
                                          ("长标题", "地方保护" * 9000)])
def test_report_relabelled_page_is_what_render_report_writes(tmp_path, title, label):
    """A report page relabelled in place (title, codes' labels) holds the bytes render_report writes for its new data."""
    import copy

    from coder.render import relabel_report, render_report

    data = report_data(SMALL, CODEBOOK, total_passages=6, documents=DOCUMENTS)
    if len(label) > 1000:  # the page's codes too long to decode in one piece: decoded in more
        for code in data["codes"]:
            code["label"] = f"旧{label}"
    render_report(data, tmp_path / "before.html")
    changed = copy.deepcopy(data)
    changed["title"] = title
    for code in changed["codes"]:
        code.update(label=f"{label} {code['id']}", color="#abc")

    def relabel(codes):
        return [{**code, "label": f"{label} {code['id']}", "color": "#abc"} for code in codes]

    render_report(changed, tmp_path / "after.html")
    page = (tmp_path / "before.html").read_bytes()
    assert relabel_report(page, title=title, codes=relabel) == (tmp_path / "after.html").read_bytes()
    with pytest.raises(ValueError):
        relabel_report(page.replace(b"<h1>", b"<h1>x"), title=title, codes=relabel)


@given(st.lists(st.tuples(st.integers(0, 3), st.lists(st.integers(0, 6), min_size=1, max_size=5)), min_size=1, max_size=40))
@settings(max_examples=200, deadline=None)
def test_report_code_sets_count_each_documents_passages_by_their_codes(passages):
    """_code_sets groups passages (document, codes with repeats) as counting sorted code tuples does."""
    import numpy as np

    from coder.report import _code_sets

    passages = sorted(passages, key=lambda passage: passage[0])  # passages come in document order
    counted = Counter((document, tuple(sorted(codes))) for document, codes in passages)
    expected = [[document, number, list(codes)] for (document, codes), number in sorted(counted.items())]
    passage_of_row = np.repeat(np.arange(len(passages)), [len(codes) for _, codes in passages])
    codes = np.array([code for _, codes in passages for code in reversed(codes)], dtype=np.int64)
    documents = np.array([document for document, _ in passages], dtype=np.int64)
    assert _code_sets(passage_of_row, codes, documents, len(passages)) == expected


@given(st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=4), min_size=1, max_size=30), st.integers(1, 3))
@settings(max_examples=200, deadline=None)
def test_report_sample_takes_each_codes_first_distinct_passages(passages, per_code):
    """_sample keeps the first SAMPLE_PER_CODE distinct passages of each code (a code repeated within a
    passage counts once), as grouping the (passage, code) pairs by code does; nothing else when the cap
    leaves no room for a random draw."""
    import numpy as np

    import coder.report
    from coder.report import _sample

    passage_of_row = np.repeat(np.arange(len(passages)), [len(codes) for codes in passages])
    codes = np.array([code for codes in passages for code in codes], dtype=np.int64)
    firsts: dict[int, list[int]] = {}
    for passage, code in dict.fromkeys(zip(passage_of_row.tolist(), codes.tolist())):
        if len(firsts.setdefault(code, [])) < per_code:
            firsts[code].append(passage)
    expected = sorted({passage for chosen in firsts.values() for passage in chosen})
    saved = coder.report.PASSAGES_SHOWN, coder.report.SAMPLE_PER_CODE
    coder.report.PASSAGES_SHOWN, coder.report.SAMPLE_PER_CODE = 0, per_code
    try:
        assert _sample(passage_of_row, codes, len(passages), seed=42).tolist() == expected
    finally:
        coder.report.PASSAGES_SHOWN, coder.report.SAMPLE_PER_CODE = saved


_PAGE_ROWS = st.lists(st.tuples(st.sampled_from(["d1", "d2", "d3"]), st.integers(0, 5),
                                st.sampled_from(["admin", "local", "gov"])), min_size=1, max_size=40)


@given(_PAGE_ROWS, st.sampled_from([0, 3, 5_000]))
@settings(max_examples=100, deadline=None)
def test_report_passages_from_the_cooccurrence_keys_are_the_plain_ones(rows, shown):
    """_passages given build_cooccurrence's keys of its rows (documents and codes not factorized again, no
    repeated (passage, code) to drop) lists the same passages, words, code sets and sample as without."""
    import coder.report
    from coder.cooccurrence import build_cooccurrence
    from coder.report import _passages

    counted = build_cooccurrence(frame(rows), codebook=CODEBOOK)
    index = {code: position for position, code in enumerate(["gov", "local", "admin", "barriers"])}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(coder.report, "PASSAGES_SHOWN", shown)
        assert _passages(counted.segments, index, keys=counted.passage_keys) == _passages(counted.segments, index)


@given(_PAGE_ROWS, st.sampled_from([NetworkOptions(), NetworkOptions(min_count=1, top_edges=None),
                                    NetworkOptions(measure="npmi", min_count=1, seed=7)]))
@settings(max_examples=30, deadline=None)
def test_report_communities_taken_from_the_network_are_the_pages_own(rows, options):
    """report_data given build_network's graph takes its communities: the data it computes without it."""
    from coder.cooccurrence import build_cooccurrence
    from coder.network import build_network

    counted = build_cooccurrence(frame(rows), total_passages=50, codebook=CODEBOOK)
    graph = build_network(counted, CODEBOOK, measure=options.measure, min_count=options.min_count,
                          top_edges=options.top_edges, seed=options.seed)
    assert (report_data(frame(rows), CODEBOOK, options=options, total_passages=50, cooccurrence=counted, network=graph)
            == report_data(frame(rows), CODEBOOK, options=options, total_passages=50))


@pytest.mark.parametrize("options", [NetworkOptions(hide_isolated=True, min_count=1), NetworkOptions(level=1, min_count=1)])
def test_report_written_with_hidden_codes_or_a_level_computes_its_own_communities(tmp_path, options):
    """The map's graph lacks the codes it hides, and is drawn at another level: the page's communities are
    then computed apart, as report_data does."""
    rows = [("d1", 0, "admin"), ("d1", 0, "gov"), ("d1", 1, "admin"), ("d2", 0, "local"), ("d2", 1, "gov")]  # local alone
    write_network_outputs(frame(rows), CODEBOOK, tmp_path, options=options, total_passages=9)
    assert page_data(tmp_path / "report.html") == json.loads(json.dumps(
        report_data(frame(rows), CODEBOOK, options=options, total_passages=9, title=CODEBOOK.name)))


@given(st.lists(st.tuples(st.integers(0, 3), st.lists(st.integers(0, 300), min_size=1, max_size=5)), max_size=40))
@settings(max_examples=200, deadline=None)
def test_report_code_sets_as_json_are_json_dumps_of_the_lists(passages):
    """_code_sets' JSON text, written in Arrow, is json.dumps of the lists it gives otherwise."""
    import numpy as np

    from coder.report import _code_sets

    passages = sorted(passages, key=lambda passage: passage[0])
    passage_of_row = np.repeat(np.arange(len(passages)), [len(codes) for _, codes in passages]).astype(np.int64)
    codes = np.array([code for _, codes in passages for code in codes], dtype=np.int64)
    documents = np.array([document for document, _ in passages], dtype=np.int64)
    arguments = (passage_of_row, codes, documents, len(passages))
    assert _code_sets(*arguments, as_json=True).text == json.dumps(_code_sets(*arguments)).encode("ascii")


@given(_PAGE_ROWS | st.just([]))
@settings(max_examples=20, deadline=None)
def test_report_page_with_code_sets_as_json_is_the_plain_page(tmp_path_factory, rows):
    """render_report writes the code sets given as JSON text where json.dumps put the lists: the same page."""
    from coder.render import JsonText, render_report

    segments = frame(rows) if rows else frame(SMALL_ROWS).iloc[:0]
    folder = tmp_path_factory.mktemp("pages")
    quick = report_data(segments, CODEBOOK, total_passages=50, sets_as_json=True)
    assert isinstance(quick["sets"], JsonText)
    render_report(quick, folder / "quick.html")
    render_report(report_data(segments, CODEBOOK, total_passages=50), folder / "plain.html")
    assert (folder / "quick.html").read_bytes() == (folder / "plain.html").read_bytes()


def test_report_data_gives_each_group_its_passages_coded_or_not(tmp_path):
    """The page's N for a group was its coded passages, where `coder network --where` takes all the group's
    passages: on one link the page said association 1, NPMI 0 and --where 2.133, 0.772 (probe O2)."""
    documents = pd.DataFrame({"document": ["d1", "d2", "d3"], "year": [2019, 2020, 2020.0], "region": ["A", None, "A"]})
    write_network_outputs(SMALL, CODEBOOK, tmp_path, total_passages=12, documents=documents,
                          passages_by_document={"d1": 4, "d2": 3, "d3": 5})
    assert page_data(tmp_path / "report.html")["group_passages"] == {"year": {"2019": 4, "2020": 8}, "region": {"A": 9}}


@pytest.mark.browser
def test_report_group_counts_its_documents_passages_and_offers_no_blank_group(driver, tmp_path):
    documents = pd.DataFrame({"document": ["d1", "d3"], "year": [2019, 2020]})  # d2 has no row; d3 codes nothing
    write_network_outputs(SMALL, CODEBOOK, tmp_path, total_passages=12, documents=documents,
                          passages_by_document={"d1": 4, "d2": 3, "d3": 5})
    open_report(driver, tmp_path / "report.html")
    options = driver.execute_script("return Array.from(document.querySelectorAll('select[name=group] option')).map(o => o.textContent)")
    assert options == ["all documents", "year = 2019"]  # not "year = " for d2 (probe O7); d3 codes nothing
    driver.execute_script("window.coderReport.set({group: 'year\\u00002019', min_count: 1})")
    summary = driver.execute_script("return document.getElementById('coder-summary').textContent")
    assert "N = 4 passages (the chosen documents' passages)" in summary  # d1's 4, not its 3 coded ones
    assert console_problems(driver) == []


@pytest.mark.browser
def test_report_codes_sharing_a_label_are_found_apart(driver, tmp_path):
    """Two codes labelled "Other": Keyword in context and Find a code always took the first, and showed its
    lines for the other (probe O3)."""
    from coder import parse_codebook

    codebook = parse_codebook("codes:\n  red: {label: Other, keywords: [red]}\n  blue: {label: other, keywords: [blue]}\n"
                              "  green: {label: Green, keywords: [green]}\n")
    rows = [("d1", 0, "red"), ("d1", 0, "green"), ("d1", 1, "blue"), ("d1", 2, "blue"), ("d2", 0, "blue")]
    segments = segment_frame(rows, code_path=lambda document, passage, code: code,
                             matched=lambda document, passage, code: code,
                             text=lambda document, passage, code: f"The {code} one in {document}.")
    write_network_outputs(segments, codebook, tmp_path, total_passages=5)
    open_report(driver, tmp_path / "report.html")
    names = driver.execute_script("return Array.from(document.querySelectorAll('#coder-codes option')).map(o => o.value)")
    assert sorted(names) == ["Green", "Other (red)", "other (blue)"]
    driver.execute_script("window.coderReport.show('kwic');"
                          "var input = document.getElementById('coder-kwic-code'); input.value = 'other (blue)';"
                          "input.dispatchEvent(new Event('change'));")
    assert driver.execute_script("return document.getElementById('coder-kwic-note').textContent").startswith("other: 3 lines")
    assert console_problems(driver) == []


def test_report_label_with_an_open_bidi_override_is_isolated(tmp_path):
    """A label ending in an unclosed U+202E turned the text after it around where the page composes labels:
    "Barriers \u202e — Governance 123" read "Barriers ecnanrevoG — 321" (probe O5)."""
    from coder import parse_codebook

    codebook = parse_codebook('codes:\n  a: {label: "Barriers \\u202e", keywords: [x]}\n  b: {label: Governance 123, keywords: [y]}\n')
    segments = segment_frame([("d1", 0, "a"), ("d1", 0, "b")], code_path=lambda document, passage, code: code)
    write_network_outputs(segments, codebook, tmp_path, total_passages=1)
    labels = {code["id"]: code["label"] for code in page_data(tmp_path / "report.html")["codes"]}
    assert labels == {"a": "\u2068Barriers \u202e\u2069", "b": "Governance 123"}


def test_report_and_map_draw_a_child_codes_own_colour(tmp_path):
    """A child code's `color` was accepted and the parent's drawn, with no word (probe O6)."""
    from coder import parse_codebook

    codebook = parse_codebook('codes:\n  parent:\n    color: "#ff0000"\n    keywords: [p]\n    codes:\n'
                              '      own: {color: "#00aa00", keywords: [o], codes: {grandchild: {keywords: [g]}}}\n'
                              '      plain: {keywords: [q]}\n')
    rows = [("d1", 0, "parent"), ("d1", 0, "own"), ("d1", 1, "grandchild"), ("d1", 1, "plain")]
    paths = {"parent": "parent", "own": "parent/own", "grandchild": "parent/own/grandchild", "plain": "parent/plain"}
    segments = segment_frame(rows, code_path=lambda document, passage, code: paths[code])
    written = write_network_outputs(segments, codebook, tmp_path, total_passages=2)
    expected = {"parent": "#ff0000", "own": "#00aa00", "grandchild": "#00aa00", "plain": "#ff0000"}
    assert {code["id"]: code["color"] for code in page_data(tmp_path / "report.html")["codes"]} == expected
    assert dict(written["graph"].nodes(data="color")) == expected


@pytest.mark.browser
def test_report_map_shortens_a_long_label_and_the_tables_keep_it(driver, tmp_path):
    """A 415-character label ran across the whole map, and in Frequencies pushed the bars off the screen;
    the side panel cut long unbroken text behind a scrollbar (probe O8)."""
    from coder import parse_codebook

    label = "Regional " * 46 + "end"
    codebook = parse_codebook(f"codes:\n  long: {{label: '{label}', keywords: [x]}}\n  short: {{label: Short, keywords: [y]}}\n")
    segments = segment_frame([("d1", 0, "long"), ("d1", 0, "short")], code_path=lambda document, passage, code: code)
    write_network_outputs(segments, codebook, tmp_path, total_passages=1)
    open_report(driver, tmp_path / "report.html")
    labels = driver.execute_script("return window.coderNetwork.body.data.nodes.get().map(n => n.label)")
    assert sorted(labels, key=len) == ["Short", label[:47] + "\u2026"]
    driver.execute_script("window.coderReport.show('frequencies')")
    cell = driver.execute_script("var td = document.querySelector('#coder-frequencies tbody td');"
                                 "return [td.title, td.getBoundingClientRect().width, window.innerWidth]")
    assert cell[0] == label and cell[1] < cell[2] / 2
    assert driver.execute_script("return getComputedStyle(document.getElementById('coder-side')).overflowWrap") == "anywhere"


@pytest.mark.browser
@pytest.mark.parametrize("label, text", [
    ("x" * 1500, "Red tape here."),
    ("Administrative barriers", "Red tape, see https://www.example.gov.cn/zhengce/content_" + "a" * 150 + ".htm now."),
])
def test_report_tooltip_with_a_long_unbroken_token_stays_inside_the_map(driver, tmp_path, label, text):
    """A tooltip quoting a long URL or label overflowed its box: the map got a scrollbar and rescaled under
    the pointer, and the click that followed missed the node (probe AN1)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from coder import parse_codebook

    codebook = parse_codebook(f"codes:\n  admin: {{label: '{label}', keywords: [red tape]}}\n"
                              f"  gov: {{label: Governance, keywords: [x]}}\n")
    segments = segment_frame([("d1", 0, "admin"), ("d1", 0, "gov"), ("d1", 1, "admin")],
                             code_path=lambda document, passage, code: code, matched="red tape",
                             text=lambda document, passage, code: text)
    write_network_outputs(segments, codebook, tmp_path, total_passages=2)
    open_report(driver, tmp_path / "report.html")
    canvas = driver.find_element(By.CSS_SELECTOR, "#coder-network canvas")
    size = canvas.size
    point = driver.execute_script(
        "var n = window.coderNetwork; return n.canvasToDOM(n.getPosition(window.coderReport.node('admin')));")
    ActionChains(driver).move_to_element_with_offset(canvas, 1 - size["width"] // 2, 1 - size["height"] // 2).perform()
    ActionChains(driver).move_to_element_with_offset(
        canvas, int(point["x"] - size["width"] / 2), int(point["y"] - size["height"] / 2)).perform()
    deadline = time.monotonic() + 5
    while driver.execute_script("return document.getElementById('coder-tooltip').hidden"):
        assert time.monotonic() < deadline, "no tooltip appeared"
        time.sleep(0.05)
    view, tip = driver.execute_script(
        "var v = document.getElementById('coder-view-map'), r = v.getBoundingClientRect(),"
        " t = document.getElementById('coder-tooltip').getBoundingClientRect();"
        "return [{scroll: v.scrollWidth, client: v.clientWidth, right: r.right, bottom: r.bottom},"
        " {right: t.right, bottom: t.bottom}];")
    assert view["scroll"] <= view["client"], "the tooltip widened the map: a scrollbar appeared"
    assert tip["right"] <= view["right"] + 1 and tip["bottom"] <= view["bottom"] + 1
