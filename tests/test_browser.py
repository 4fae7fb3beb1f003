"""The generated map in real headless Chromium with the network blocked: draws, hovers, runs no data."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import (
    HOSTILE_CODEBOOK,
    PWNED_IMG,
    PWNED_SCRIPT,
    SMALL_PATHS,
    chromium_driver,
    console_problems,
    open_drawn_page,
    requests_leaving,
    segment_frame,
)

from coder.cooccurrence import build_cooccurrence
from coder.network import build_network
from coder.render import render_html

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def driver():
    driver = chromium_driver()
    yield driver
    driver.quit()


def segments(rows: list[tuple[str, int, str]]) -> pd.DataFrame:
    return segment_frame(
        rows, code_path=lambda document, passage, code: SMALL_PATHS[code], matched="red tape; 地方保护; governance",
        text=lambda document, passage, code: f"Red tape, governance and 地方保护 in {document}. {PWNED_SCRIPT} {PWNED_IMG}",
    )


SMALL = segments([
    ("d1", 0, "admin"), ("d1", 0, "gov"), ("d1", 1, "admin"), ("d1", 1, "gov"), ("d1", 2, "local"),
    ("d2", 0, "admin"), ("d2", 0, "gov"),
])


def open_page(driver, tmp_path: Path, frame: pd.DataFrame, **options) -> Path:
    path = tmp_path / "network.html"
    graph = build_network(build_cooccurrence(frame), HOSTILE_CODEBOOK, **options)
    render_html(graph, path)
    open_drawn_page(driver, path, what="map")
    return path




def hover(driver, node_or_point) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    if isinstance(node_or_point, str):
        point = driver.execute_script(
            "var n = window.coderNetwork; return n.canvasToDOM(n.getPosition(window.coderNode(arguments[0])));", node_or_point)
    else:
        point = node_or_point
    canvas = driver.find_element(By.CSS_SELECTOR, "#coder-network canvas")
    size = canvas.size
    actions = ActionChains(driver)
    actions.move_to_element_with_offset(canvas, 1 - size["width"] // 2, 1 - size["height"] // 2).perform()
    actions.move_to_element_with_offset(
        canvas, int(point["x"] - size["width"] / 2), int(point["y"] - size["height"] / 2)).perform()


def tooltip(driver) -> dict:
    deadline = time.monotonic() + 5
    while driver.execute_script("return document.getElementById('coder-tooltip').hidden"):
        assert time.monotonic() < deadline, "no tooltip appeared"
        time.sleep(0.05)
    return driver.execute_script(
        "var t = document.getElementById('coder-tooltip');"
        "return {text: t.textContent, marks: Array.from(t.querySelectorAll('mark')).map(m => m.textContent),"
        " elements: t.querySelectorAll('script, img, b').length};"
    )


def test_browser_map_draws_offline_without_console_errors(driver, tmp_path):
    open_page(driver, tmp_path, SMALL)
    painted = driver.execute_script(
        "var c = document.querySelector('#coder-network canvas');"
        "var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, n = 0;"
        "for (var i = 0; i < d.length; i += 4) { if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) n++; }"
        "return [n, c.width * c.height];"
    )
    assert painted[0] > 500, f"canvas nearly blank: {painted[0]} of {painted[1]} pixels drawn"
    assert console_problems(driver) == []
    assert requests_leaving(driver) == []
    assert driver.execute_script("return document.getElementById('coder-summary').textContent") == (
        "3 codes · 1 link · edge width: jaccard · node size: passages · colour: top-level code")
    assert driver.execute_script("return document.querySelectorAll('#coder-legend li').length") == 2


def test_browser_node_tooltip_shows_markup_as_text(driver, tmp_path):
    open_page(driver, tmp_path, SMALL)
    hover(driver, "admin")
    shown = tooltip(driver)
    assert shown["text"].startswith("Administrative barriers")
    assert f"Red tape {PWNED_SCRIPT} {PWNED_IMG}" in shown["text"]
    assert "3 passage(s) in 2 document(s)" in shown["text"]
    assert shown["marks"][:3] == ["Red tape", "governance", "地方保护"]
    assert shown["elements"] == 0
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert console_problems(driver) == []


def test_browser_edge_tooltip_shows_counts_and_example(driver, tmp_path):
    open_page(driver, tmp_path, SMALL)
    middle = driver.execute_script(
        "var n = window.coderNetwork, a = n.getPosition(coderNode('admin')), b = n.getPosition(coderNode('gov'));"
        "return n.canvasToDOM({x: (a.x + b.x) / 2, y: (a.y + b.y) / 2});"
    )
    hover(driver, middle)
    shown = tooltip(driver)
    assert shown["text"].startswith("Administrative barriers — Governance <b>bold</b>")
    assert "3 shared passage(s) in 2 document(s)" in shown["text"]
    assert "Jaccard 1 · association 1.333 · NPMI 1" in shown["text"]  # N = 4: 3*4/(3*3)
    assert PWNED_SCRIPT in shown["text"]
    assert shown["elements"] == 0
    assert driver.execute_script("return typeof window.__pwned") == "undefined"


def test_browser_click_highlights_neighbours_and_search_finds_a_code(driver, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_page(driver, tmp_path, SMALL)
    hover(driver, "admin")
    ActionChains(driver).click().perform()
    colors = driver.execute_script(
        "var d = window.coderNetwork.body.data.nodes; return ['admin', 'gov', 'local'].map(id => d.get(coderNode(id)).color);")
    assert colors[0] == "#d62728" and colors[2] == "rgba(200,200,200,0.5)"
    assert colors[1] != "rgba(200,200,200,0.5)"
    search = driver.find_element(By.ID, "coder-search")
    search.send_keys("地方", Keys.ENTER)
    assert driver.execute_script("return window.coderNetwork.getSelectedNodes()") == [
        driver.execute_script("return coderNode('local')")]
    assert console_problems(driver) == []


@pytest.mark.parametrize(
    "rows, message",
    [
        ([], "No coded passages: nothing to draw."),
        ([("d", 0, "admin")], "1 code(s), but no two codes share a passage: no edges to draw."),
    ],
)
def test_browser_empty_maps_say_so(driver, tmp_path, rows, message):
    frame = segments(rows) if rows else segments([("d", 0, "admin")]).iloc[:0]
    open_page(driver, tmp_path, frame)
    shown = driver.execute_script(
        "var m = document.getElementById('coder-message'); return [m.hidden, m.textContent];")
    assert shown[0] is False
    assert shown[1].startswith(message)
    assert console_problems(driver) == []


def test_browser_codes_named_like_javascript_built_ins_are_drawn(driver, tmp_path):
    """Code ids such as `constructor` or `__proto__` were keys of vis-network's plain objects: not drawn,
    or the page stopped."""
    names = ["__proto__", "constructor", "toString", "hasOwnProperty"]
    frame = segment_frame([("d1", 0, names[0]), ("d1", 0, names[1]), ("d1", 1, names[2]), ("d1", 1, names[3]),
                           ("d1", 1, names[1])], code_path=lambda document, passage, code: code)
    from coder.codebook import parse_codebook

    codebook = parse_codebook("codes:\n" + "".join(f"  {name}: [x{number}]\n" for number, name in enumerate(names)))
    path = tmp_path / "network.html"
    render_html(build_network(build_cooccurrence(frame), codebook, min_count=1), path)
    open_drawn_page(driver, path, what="map")
    drawn = driver.execute_script("return window.coderNetwork.body.data.nodes.get().map(n => n.code)")
    assert sorted(drawn) == sorted(names)
    points = driver.execute_script("return Object.values(window.coderNetwork.getPositions()).map(p => [p.x, p.y])")
    assert len(points) == 4 and all(value == value for point in points for value in point)
    hover(driver, "constructor")
    assert "constructor" in tooltip(driver)["text"]
    assert console_problems(driver) == []
