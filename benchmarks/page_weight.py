"""What each page of a built book weighs: its HTML, and the bytes a browser downloads on opening it before the
reader touches anything (scripts, styles, fonts, pictures; the live widget's runtime and models only once touched).

    python benchmarks/page_weight.py _build/_build/html [--out benchmarks/results/page_weight.json]

Serves the folder over HTTP twice, as GitHub Pages does (text compressed with gzip: ``loaded_kb``) and uncompressed
(``loaded_raw_kb``, an upper bound), opens every page of the book in headless Chromium with an empty cache, and
prints JSON: per page ``html_kb``, ``loaded_kb`` and ``loaded_raw_kb``, and the site's total size. Needs chromium and
chromium-driver (apt) and selenium.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import sys
import threading
import time
from pathlib import Path

from i2vlib.errors import ArgumentParser

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SKIP = ("genindex.html", "search.html", "py-modindex.html")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".wasm": "application/wasm"}
    compress = False
    TEXT = (".html", ".js", ".mjs", ".css", ".json", ".svg", ".txt", ".map")

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if not (self.compress and path.is_file() and path.suffix in self.TEXT
                and "gzip" in self.headers.get("Accept-Encoding", "")):
            return super().do_GET()
        body = gzip.compress(path.read_bytes(), 6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Gzip(_Quiet):
    compress = True


def check_site(html: Path, script: str) -> None:
    """Exit in one line, named by ``script``, unless ``html`` holds a built book and headless Chromium is here."""
    if not (html / "index.html").is_file():
        sys.exit(f"{script}: error: {html} holds no built book (no index.html)")
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not Path(tool).exists():
            sys.exit(f"{script}: error: {tool} is missing (apt-get install chromium chromium-driver)")


def pages(html: Path) -> list[Path]:
    """The book's pages under ``html`` (not its static files, sources or generated indexes)."""
    return [p for p in sorted(html.rglob("*.html"))
            if not {"_static", "_sources", "_images"} & set(p.relative_to(html).parts) and p.name not in SKIP]


def serve(html: Path, compress: bool):
    """``(its address, the server)``: the folder ``html`` served over HTTP from a thread, with or without gzip."""
    handler = _Gzip if compress else _Quiet
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def weigh(html: Path, compress: bool, settle: float = 2.5) -> dict[str, int]:
    """``{page: bytes downloaded on opening it}``, served with or without gzip."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    site, server = serve(html, compress)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    out = {}
    try:
        for page in pages(html):
            rel = page.relative_to(html).as_posix()
            driver.get_log("performance")
            driver.execute_cdp_cmd("Network.clearBrowserCache", {})
            driver.get(f"{site}/{rel}")
            time.sleep(settle)
            loaded = 0
            for entry in driver.get_log("performance"):
                message = json.loads(entry["message"])["message"]
                if message.get("method") == "Network.loadingFinished":
                    loaded += message["params"].get("encodedDataLength", 0)
            out[rel] = loaded
    finally:
        driver.quit()
        server.shutdown()
    return out


def main(argv=None) -> int:
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html", type=Path, help="a built book's HTML folder (OUT/_build/html)")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args(argv)
    check_site(args.html, "page_weight.py")
    gz, raw = weigh(args.html, compress=True), weigh(args.html, compress=False)
    per_page = {rel: {"html_kb": round((args.html / rel).stat().st_size / 1024), "loaded_kb": round(gz[rel] / 1024),
                      "loaded_raw_kb": round(raw[rel] / 1024)} for rel in gz}
    site = sum(f.stat().st_size for f in args.html.rglob("*") if f.is_file())
    result = {"pages": per_page, "site_mb": round(site / 2 ** 20, 1),
              "heaviest_html_kb": max(v["html_kb"] for v in per_page.values()),
              "heaviest_loaded_kb": max(v["loaded_kb"] for v in per_page.values()),
              "heaviest_loaded_raw_kb": max(v["loaded_raw_kb"] for v in per_page.values())}
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
