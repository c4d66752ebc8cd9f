"""How a built book's pages lay out in a browser: tables wider than the text column, code a reader sees without a
click, and screenshots.

    python benchmarks/layout.py _build/_build/html [--out benchmarks/results/layout.json]
                                [--screenshots DIR --shoot notebooks/verdicts/verdicts.html ...]

Opens every page of the book in headless Chromium at each width of WIDTHS (a laptop's 1280 CSS px and a phone's
390) and prints JSON, per width and page: ``tables`` (how many), ``overflowing`` (each table wider than its column:
its first header, its width and the column's, in CSS px), ``code_lines`` (lines of notebook code visible without a
click: the code of cells whose input is not hidden behind a toggle) and ``images_wider`` (pictures wider than the
column, which scroll sideways). With ``--screenshots`` the pages named by ``--shoot`` are saved as full-page PNGs at
each width. Needs chromium and chromium-driver (apt) and selenium.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from page_weight import CHROMEDRIVER, CHROMIUM, check_site, pages, serve  # noqa: E402  (a script beside this one)

from i2vlib.errors import ArgumentParser  # noqa: E402

WIDTHS = (1280, 390)
MEASURE = """
const main = document.querySelector("main") || document.body;
const article = main.querySelector("article") || main;
const column = article.getBoundingClientRect().width;
const visible = (e) => !!(e.offsetParent || e.getClientRects().length) && !e.closest("details:not([open])");
const tables = [...article.querySelectorAll("table")].filter(visible);
const overflowing = tables.map((t) => {
  const box = t.parentElement.getBoundingClientRect().width;
  const head = t.querySelector("th, td");
  return {first: head ? head.textContent.trim().slice(0, 60) : "", width: Math.round(t.scrollWidth),
          column: Math.round(Math.min(box, column))};
}).filter((t) => t.width > t.column + 1);
const code = [...article.querySelectorAll("div.cell_input pre")].filter(visible);
const lines = code.reduce((n, pre) => n + pre.textContent.replace(/\\n$/, "").split("\\n").length, 0);
const wide = [...article.querySelectorAll("img")].filter(visible)
  .filter((i) => i.getBoundingClientRect().width > column + 1).length;
return {column: Math.round(column), tables: tables.length, overflowing: overflowing, code_lines: lines,
        images_wider: wide};
"""


def driver_at(width: int, height: int = 900):
    """Headless Chromium whose viewport is ``width`` CSS px wide (device metrics set by the DevTools protocol)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                f"--window-size={width},{height}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    return driver


def screenshot(driver, path: Path) -> None:
    """The whole page (not only the viewport) as a PNG."""
    size = driver.execute_script("return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                             "clip": {"x": 0, "y": 0, "width": size[0],
                                                                      "height": size[1], "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))


def measure(html: Path, shots: Path | None = None, shoot=(), settle: float = 1.0) -> dict:
    """``{width: {page: layout}}`` of every page under ``html`` (see the module's docstring)."""
    site, server = serve(html, compress=False)
    out = {}
    try:
        for width in WIDTHS:
            driver = driver_at(width)
            try:
                out[str(width)] = {}
                for page in pages(html):
                    rel = page.relative_to(html).as_posix()
                    driver.get(f"{site}/{rel}")
                    time.sleep(settle)
                    out[str(width)][rel] = driver.execute_script(MEASURE)
                    if shots and rel in shoot:
                        shots.mkdir(parents=True, exist_ok=True)
                        screenshot(driver, shots / f"{rel.replace('/', '_').removesuffix('.html')}-{width}.png")
            finally:
                driver.quit()
    finally:
        server.shutdown()
    return out


def main(argv=None) -> int:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html", type=Path, help="a built book's HTML folder (OUT/_build/html)")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    ap.add_argument("--screenshots", type=Path, help="a folder for the screenshots of the pages --shoot names")
    ap.add_argument("--shoot", nargs="*", default=["notebooks/verdicts/verdicts.html"],
                    help="pages to screenshot (relative to the HTML folder)")
    args = ap.parse_args(argv)
    check_site(args.html, "layout.py")
    per_width = measure(args.html, args.screenshots, args.shoot)
    summary = {w: {"pages": len(by), "tables": sum(v["tables"] for v in by.values()),
                   "tables_overflowing": sum(len(v["overflowing"]) for v in by.values()),
                   "most_code_lines": max(((v["code_lines"], p) for p, v in by.items()), default=(0, ""))}
               for w, by in per_width.items()}
    text = json.dumps({"summary": summary, "widths": per_width}, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
