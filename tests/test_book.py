"""The whole book: every chapter runs in the smoke profile, the HTML builds with warnings as
errors, and the built pages work in a real (headless) browser.

One module-scoped fixture runs ``book/build.py --profile smoke`` once; this is the papermill
smoke run of every chapter notebook that the test-suite promises.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "book" / "build.py"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
MATH_PAGES = ["book/intro", "book/fan/overview", "book/affinegan/overview", "book/frgan/overview"]
REFERENCE_PAGES = ["book/setup", "book/reference/cli", "book/reference/api", "book/reference/data-format",
                   "book/reference/bibliography"]
# The training chapters show the loss terms they train with, rendered from the library.
LOSS_CODE = {"notebooks/affinegan/training": ["affinegan"], "notebooks/fan/training": ["fan", "convlstm"]}

pytestmark = pytest.mark.slow


def _build_module():
    spec = importlib.util.spec_from_file_location("i2v_book_build", BUILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD_PY = _build_module()
TOC_PAGES = [str(Path(e).with_suffix("")) if Path(e).suffix in BUILD_PY.SUFFIXES else e
             for e in BUILD_PY.toc_files(ROOT / "_toc.yml")]
TOC_NOTEBOOKS = [f"{p}.ipynb" for p in TOC_PAGES if (ROOT / f"{p}.ipynb").is_file()]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(BUILD), "--profile", "smoke", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=3600)
    return SimpleNamespace(proc=proc, out=out, src=out / "src", html=out / "_build" / "html",
                           seconds=time.perf_counter() - start)


def _require_build(book):
    if book.proc.returncode != 0:
        pytest.fail("book build failed:\n" + (book.proc.stdout + book.proc.stderr)[-4000:])


# ----------------------------------------------------------------------------- build + notebooks

def test_build_succeeds(book):
    _require_build(book)
    out = book.proc.stdout
    for rel in TOC_NOTEBOOKS:
        assert re.search(re.escape(rel) + r" \.\.\. +[\d.]+ s", out), f"no wall time printed for {rel}"
    assert "notebooks executed in" in out
    assert f"open the book: file://{book.html / 'index.html'}" in out


def test_the_toc_names_the_parts_of_the_book():
    assert TOC_PAGES[0] == "book/intro"
    for page in ["book/setup", "notebooks/data/data", *MATH_PAGES[1:], *REFERENCE_PAGES[1:]]:
        assert page in TOC_PAGES


@pytest.mark.parametrize("rel", TOC_NOTEBOOKS)
def test_notebook_was_executed_without_errors(book, rel):
    _require_build(book)
    nb = nbformat.read(book.src / rel, as_version=4)
    assert nb.metadata.get("papermill", {}).get("parameters") == {"PROFILE": "smoke"}, rel
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), f"{rel}: first code cell is not 'parameters'"
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in code)
    for i, cell in enumerate(code):
        if cell.source.strip():
            assert cell.execution_count is not None, f"{rel}: code cell {i} was not executed"
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{rel}: code cell {i} has an error output: {errors[0].get('ename')}"


@pytest.mark.parametrize("rel", TOC_NOTEBOOKS)
def test_committed_notebook_has_no_outputs(rel):
    nb = nbformat.read(ROOT / rel, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{rel}: commit notebooks without outputs (cells {dirty[:5]})"


def test_unknown_profile_is_a_one_line_error():
    proc = subprocess.run([sys.executable, str(BUILD), "--profile", "nonsense", "--skip-html"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "nonsense" in lines[0] and "smoke" in lines[0], proc.stderr


def test_failing_cell_stops_the_build_naming_notebook_and_cell(tmp_path):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('PROFILE = "book"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("1 / 0  # boom")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(BUILD_PY.BuildError) as err:
        BUILD_PY.execute(path, "notebooks/broken.ipynb", "smoke")
    msg = str(err.value)
    assert "notebooks/broken.ipynb" in msg and "ZeroDivisionError" in msg and "1 / 0" in msg


def test_notebook_without_parameters_cell_is_refused(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('PROFILE = "book"')]
    nbformat.write(nb, tmp_path / "plain.ipynb")
    with pytest.raises(BUILD_PY.BuildError, match="parameters"):
        BUILD_PY.execute(tmp_path / "plain.ipynb", "plain.ipynb", "smoke")


# ----------------------------------------------------------------------------- static HTML

@pytest.mark.parametrize("page", TOC_PAGES)
def test_page_exists(book, page):
    _require_build(book)
    assert (book.html / f"{page}.html").is_file()


def test_index_redirects_to_the_intro(book):
    _require_build(book)
    assert "book/intro.html" in (book.html / "index.html").read_text()


@pytest.mark.parametrize("page", MATH_PAGES)
def test_page_carries_math_for_mathjax(book, page):
    _require_build(book)
    html = (book.html / f"{page}.html").read_text()
    assert re.search(r'<script[^>]+src="[^"]*mathjax[^"]*"', html, re.I), "no MathJax script"
    assert html.count('class="math notranslate nohighlight"') >= 3
    assert "reference/bibliography.html#" in html, "no citation links to the bibliography"


def test_bibliography_lists_every_entry(book):
    _require_build(book)
    keys = re.findall(r"^@\w+\{([^,]+),", (ROOT / "book" / "references.bib").read_text(), re.M)
    html = (book.html / "book" / "reference" / "bibliography.html").read_text()
    assert html.count('role="doc-biblioentry"') == len(keys) >= 14
    for title in ["hidden affine transformation", "residual motion", "controllable image-to-video"]:
        assert title in html.lower()


def test_api_reference_is_generated_from_the_docstrings(book):
    _require_build(book)
    html = (book.html / "book" / "reference" / "api.html").read_text()
    for name in ["i2vlib.load", "i2vlib.api.Model.generate", "i2vlib.models.gan.GANTrainer",
                 "i2vlib.models.gan.GANTrainer.loss_table", "i2vlib.train.train", "i2vlib.train.cached_run",
                 "i2vlib.train.cached_runs", "i2vlib.evaluate.evaluate", "i2vlib.config.profile",
                 "i2vlib.data.sampling.Sampler", "i2vlib.render.save_video", "i2vlib.render.source_code"]:
        assert f'id="{name}"' in html, f"api page: no entry for {name}"
    assert "GANTrainer" in html and "generate" in html
    assert "One frame per intensity" in html, "api page: the docstrings are missing"


@pytest.mark.parametrize("page", LOSS_CODE)
def test_training_chapter_shows_its_loss_code(book, page):
    _require_build(book)
    html = (book.html / f"{page}.html").read_text()
    assert "weight key" in html, f"{page}: no loss table"
    for method in LOSS_CODE[page]:
        for fn in ("forward", "d_terms", "g_terms"):
            assert f"i2vlib.models.{method}.Trainer.{fn}" in html, f"{page}: no source of {method} Trainer.{fn}"
    blocks = re.findall(r'<div class="highlight-python[^"]*"><div class="highlight"><pre>(.*?)</pre>', html, re.S)
    code = [re.sub(r"<[^>]+>", "", b) for b in blocks]
    assert any("def g_terms(self" in c and "def d_terms(self" in c for c in code), \
        f"{page}: the loss code is not a highlighted python block"
    assert "<th" in html and "weight key" in re.sub(r"<[^>]+>", "", html), f"{page}: the loss table is not a table"


# ----------------------------------------------------------------------------- in a browser

# Console messages that are not the book's fault: remote resources that cannot load on an
# offline machine (CDN fonts, MathJax), and the theme's note on a first visit, when the
# browser has no stored light/dark preference yet.
BENIGN = [r"^https?://\S+ - Failed to load resource: net::ERR_", r"Got invalid theme mode: \. Resetting to auto"]


def _severe_errors(log: list[dict]) -> list[str]:
    """SEVERE console messages (JavaScript errors, failed local loads), less the BENIGN ones."""
    return [e["message"] for e in log
            if e.get("level") == "SEVERE" and not any(re.search(b, e.get("message", "")) for b in BENIGN)]


@pytest.fixture(scope="module")
def browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        reason = f"headless browser test needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,1000"]:
        opts.add_argument(arg)
    opts.set_capability("goog:loggingOptions", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(driver, path: Path):
    driver.get_log("browser")  # drop messages of the previous page
    driver.get(path.as_uri())
    for _ in range(100):
        if driver.execute_script("return document.readyState") == "complete":
            break
        time.sleep(0.1)


def _typeset(driver) -> int:
    """Number of typeset formulas, after MathJax has finished; -1 if MathJax could not load.

    The published pages load MathJax from a CDN. Offline, set I2V_MATHJAX_JS to a local
    ``tex-mml-chtml.js`` of MathJax 3 and it is injected instead.
    """
    loaded = "return !!(window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)"
    local = os.environ.get("I2V_MATHJAX_JS")
    if not driver.execute_script(loaded) and local:
        driver.execute_script("const s = document.createElement('script'); s.src = arguments[0];"
                              "document.head.appendChild(s);", Path(local).resolve().as_uri())
    for _ in range(100):
        if driver.execute_script(loaded):
            driver.execute_async_script("const done = arguments[arguments.length - 1];"
                                        "window.MathJax.startup.promise.then(() => done(true));")
            return driver.execute_script("return document.querySelectorAll('mjx-container').length")
        if not local:
            break
        time.sleep(0.1)
    return -1


def test_pages_in_a_browser(book, browser):
    """Every page loads with the right title, no JS errors, and math typeset when MathJax can load."""
    _require_build(book)
    problems, typeset = [], {}
    for page in TOC_PAGES:
        _open(browser, book.html / f"{page}.html")
        h1 = browser.execute_script("const h = document.querySelector('main h1, article h1');"
                                    "return h ? h.textContent.replace(/#$/, '').trim() : null")
        title = browser.title
        if not h1 or not title.endswith("i2v book") or h1.split()[0] not in title:
            problems.append(f"{page}: title {title!r}, heading {h1!r}")
        if page in MATH_PAGES:
            typeset[page] = _typeset(browser)
        problems += [f"{page}: {m}" for m in _severe_errors(browser.get_log("browser"))]
    assert not problems, "\n".join(problems)
    for page, count in typeset.items():
        assert count != 0, f"{page}: MathJax loaded but typeset no formula"


def _pages_with(book, marker: str) -> list[str]:
    return [p for p in TOC_PAGES if marker in (book.html / f"{p}.html").read_text()]


def test_static_scrubbers_respond(book, browser):
    _require_build(book)
    pages = _pages_with(book, "i2v-scrubber")
    if not pages:
        pytest.skip("no page has an i2v scrubber yet")
    for page in pages:
        _open(browser, book.html / f"{page}.html")
        scrubbers = browser.find_elements("css selector", "div.i2v-scrubber")
        assert scrubbers, f"{page}: scrubber markup but no div.i2v-scrubber"
        for k, scrubber in enumerate(scrubbers[:3]):
            rng = scrubber.find_element("css selector", "input.i2v-scrubber-range[type=range]")
            img = scrubber.find_element("css selector", "img.i2v-scrubber-img")
            label = scrubber.find_element("css selector", ".i2v-scrubber-label")
            before = (img.get_attribute("src"), label.text)
            browser.execute_script(
                "const r = arguments[0];"
                "r.value = (r.value === r.max) ? r.min : r.max;"
                "r.dispatchEvent(new Event('input', {bubbles: true}));"
                "r.dispatchEvent(new Event('change', {bubbles: true}));", rng)
            after = (img.get_attribute("src"), label.text)
            assert after[0] != before[0], f"{page}: scrubber {k} did not change its image"
            assert after[1] != before[1], f"{page}: scrubber {k} did not change its label"
        assert not _severe_errors(browser.get_log("browser")), page


def test_jshtml_animations_play(book, browser):
    _require_build(book)
    pages = _pages_with(book, "_anim_img")
    if not pages:
        pytest.skip("no page has a to_jshtml animation yet")
    state = ("const img = arguments[0]; const a = window['anim' + img.id.replace('_anim_img', '')];"
             "return [a.current_frame, img.src === a.frames[a.current_frame].src, a.frames.length];")
    for page in pages:
        _open(browser, book.html / f"{page}.html")
        for k, anim in enumerate(browser.find_elements("css selector", "div.animation")[:3]):
            img = anim.find_element("css selector", "img[id^=_anim_img]")
            frame, shown, n = browser.execute_script(state, img)
            assert n > 1 and shown, f"{page}: animation {k} is not showing its frames"
            src = img.get_attribute("src")
            anim.find_element("css selector", "button[title='Next frame']").click()
            frame2, shown2, _ = browser.execute_script(state, img)
            assert frame2 == frame + 1 and shown2, f"{page}: 'Next frame' did not step animation {k}"
            assert img.get_attribute("src") != src or browser.execute_script(
                "const a = window['anim' + arguments[0].id.replace('_anim_img', '')];"
                "return a.frames[0].src === a.frames[1].src;", img), f"{page}: frame image unchanged"
            anim.find_element("css selector", "button[title='Play']").click()
            time.sleep(1.5)
            frame3, shown3, _ = browser.execute_script(state, img)
            anim.find_element("css selector", "button[title='Pause']").click()
            assert frame3 != frame2 and shown3, f"{page}: 'Play' did not advance animation {k}"
        assert not _severe_errors(browser.get_log("browser")), page
