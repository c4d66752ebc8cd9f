"""Milliseconds per frame of the book's live widget in headless Chromium: a zoo model exported by ``i2v export``,
run by the vendored onnxruntime-web (WebAssembly, one thread, as on a published page), printed as JSON.

    python benchmarks/browser_widget.py [--models affinegan-happy fan-joint] [--frames 40] [--out FILE]

The widget's own files are written by the book's extension (``book/_ext/i2v_live.py``) into a temporary site
with one page, served from 127.0.0.1; each frame is one ``session.run`` from the slider's values to the RGB
bytes (the widget's ``frame``), timed in the page with ``performance.now()``. The first call (the runtime's
warm-up) is reported apart. Needs Debian's chromium and chromium-driver.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import emit  # noqa: E402
from i2vlib import __version__  # noqa: E402
from i2vlib.errors import ArgumentParser  # noqa: E402

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PAGE = """<!doctype html><meta charset="utf-8"><title>i2v-live benchmark</title>
<div class="i2v-live" data-models="{models}"></div>
<script src="_static/i2v-live/i2v-live.js"></script>"""
TIMED = """const [root, frames, done] = arguments;
const live = root.i2vLive, k = live.model.expressions.length, times = [];
(async () => {
  for (let t = 0; t < frames; t++) {
    const values = Array.from({length: k}, (_, j) => (j === 0 ? (t % 11) / 10 : 0));
    const start = performance.now();
    await live.frame(values);
    times.push(performance.now() - start);
  }
  done(times);
})().catch((e) => done(String(e)));"""


class _Files(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".wasm": "application/wasm"}

    def log_message(self, *args):
        pass


def _extension():
    spec = importlib.util.spec_from_file_location("i2v_live", ROOT / "book" / "_ext" / "i2v_live.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]:
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_script_timeout(300)
    return driver


def measure(driver, url: str, name: str, frames: int) -> dict:
    driver.get(url)
    root = driver.find_element("css selector", "div.i2v-live")
    driver.execute_script("const r = arguments[0]; r.i2vLive.picker.value = arguments[1];"
                          "r.i2vLive.picker.dispatchEvent(new Event('change'));", root, name)
    for _ in range(3000):                      # the model loads and the first face is drawn
        if driver.execute_script("return arguments[0].i2vLive.name === arguments[1] && !!arguments[0].i2vLive.pixels"
                                 " && !arguments[0].i2vLive.busy && arguments[0].dataset.rendered > 0", root, name):
            break
        time.sleep(0.1)
    times = driver.execute_async_script(TIMED, root, frames + 1)
    if isinstance(times, str):
        raise SystemExit(f"browser_widget: the widget failed: {times}")
    steady = np.array(times[1:])
    return {"model": name, "frames": frames, "first_ms": round(times[0], 1),
            "ms_per_frame_median": round(float(np.median(steady)), 1),
            "ms_per_frame_mean": round(float(steady.mean()), 1), "ms_per_frame_p90": round(float(np.percentile(steady, 90)), 1)}


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["affinegan-happy", "fan-joint"])
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    live = _extension()
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp)
        manifest = live.write_site(site / "_static" / "i2v-live", args.models, ROOT / "_build" / "vendor")
        (site / "index.html").write_text(PAGE.format(models=" ".join(args.models)))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Files, directory=str(site)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        driver = _browser()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
            results = [measure(driver, url, name, args.frames) for name in args.models]
            browser = driver.capabilities.get("browserVersion")
        finally:
            driver.quit()
            server.shutdown()
    emit({"benchmark": "browser_widget", "i2vlib": __version__, "onnxruntime_web": live.ORT_VERSION,
          "browser": f"Chromium {browser}", "cpu": platform.processor() or platform.machine(),
          "cores_available": os.cpu_count(),
          "threads_used": 1, "image_size": {n: manifest["models"][n]["image_size"] for n in args.models},
          "model_bytes": {n: manifest["models"][n]["bytes"] for n in args.models}, "results": results}, args.out)


if __name__ == "__main__":
    main()
