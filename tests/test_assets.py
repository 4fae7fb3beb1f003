"""Lint the page's assets: every coder/assets/*.js parses, checked by node or headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest
from conftest import chromium_driver

ASSETS = Path(str(resources.files("coder").joinpath("assets")))
SCRIPTS = sorted(path.name for path in ASSETS.glob("*.js"))
NODE = shutil.which("node")

# Wrapped in a function that is never called, the source is parsed but does not run; a syntax
# error reaches window.onerror with its line (one more than in the file, for the wrapper's line).
_PARSE_IN_PAGE = """
var source = arguments[0], found = null;
window.onerror = function (message, url, line, column) { found = [String(message), line - 1, column]; return true; };
var script = document.createElement("script");
script.textContent = "function coderLint() {\\n" + source + "\\n}";
document.head.appendChild(script);
window.onerror = null;
return found;
"""


@pytest.fixture(scope="module")
def chromium():
    driver = chromium_driver()
    driver.get("about:blank")
    yield driver
    driver.quit()


def _syntax_errors_node(path: Path) -> str:
    result = subprocess.run([NODE, "--check", str(path)], capture_output=True, text=True, timeout=60)
    return "" if result.returncode == 0 else result.stderr.strip()


def _syntax_errors_chromium(driver, path: Path) -> str:
    found = driver.execute_script(_PARSE_IN_PAGE, path.read_text(encoding="utf-8"))
    return "" if found is None else f"{path.name}:{found[1]}:{found[2]}: {found[0]}"


@pytest.mark.parametrize("name", SCRIPTS)
def test_assets_javascript_parses_with_node(name):
    if NODE is None:  # CI installs Chromium (make browser-deps), not node: the Chromium check is the one it must run
        pytest.skip("node not installed; the Chromium check still runs (and fails in CI when Chromium is missing)")
    assert _syntax_errors_node(ASSETS / name) == ""


@pytest.mark.browser
@pytest.mark.parametrize("name", SCRIPTS)
def test_assets_javascript_parses_in_chromium(chromium, name):
    assert _syntax_errors_chromium(chromium, ASSETS / name) == ""


@pytest.mark.browser
@pytest.mark.parametrize("source, expected", [
    ("var ok = 1;\nvar broken = ;\n", "broken.js:2:"),
])
def test_assets_linter_reports_the_line_of_a_syntax_error(chromium, tmp_path, source, expected):
    path = tmp_path / "broken.js"
    path.write_text(source, encoding="utf-8")
    assert _syntax_errors_chromium(chromium, path).startswith(expected)
    if NODE is not None:
        assert f"{path}:2" in _syntax_errors_node(path)


def test_assets_scripts_found():
    assert SCRIPTS == ["page.js", "report.js", "tooltip.js", "vis-network.min.js"]
