"""Take the README's screenshots of report.html on the seeds, in headless Chromium (network blocked).

    python benchmarks/screenshots/screenshots.py   # codes the seeds into a temporary folder, writes the report-*.png here
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import chromium_driver  # noqa: E402

from coder.runner import run_coding  # noqa: E402


def main() -> None:
    out = Path(tempfile.mkdtemp(prefix="coder-screens-"))
    run_coding(ROOT / "seeds", ROOT / "codebook.yaml", out, workers=1, use_cache=False)
    driver = chromium_driver()
    try:
        driver.set_window_size(1280, 800)
        driver.get((out / "report.html").as_uri())
        while not driver.execute_script("return window.coderReady === true"):
            time.sleep(0.05)
        shots = {
            "map": "window.coderReport.show('map')",
            "matrix": "window.coderReport.show('matrix');"
                      "document.querySelector('#coder-matrix td[data-source=\"collaborative_governance\"]"
                      "[data-target=\"intergovernmental_cooperation\"]').click()",
            "frequencies": "window.coderReport.show('frequencies')",
            "kwic": "var i = document.getElementById('coder-kwic-code'); i.value = 'Joint meeting';"
                    "window.coderReport.show('kwic'); i.dispatchEvent(new Event('change'))",
        }
        for name, script in shots.items():
            driver.execute_script(script)
            time.sleep(0.5)
            path = Path(__file__).resolve().parent / f"report-{name}.png"
            driver.save_screenshot(str(path))
            print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1000:.0f} KB")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
