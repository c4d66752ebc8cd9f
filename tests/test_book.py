"""The whole book: every chapter runs in the smoke profile, the HTML builds with warnings as
errors, and the built pages work in a real (headless) browser.

The session fixture ``smoke_book`` (tests/conftest.py) runs ``book/build.py --profile smoke`` once per test run,
whatever the number of workers; this is the papermill smoke run of every chapter notebook that the test-suite
promises.
"""

from __future__ import annotations

import fnmatch
import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest
from PIL import Image
from scripts import load_script

from i2vlib.render import findings

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "book" / "build.py"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
MATH_PAGES = ["book/intro", "book/fan/overview", "book/affinegan/overview", "book/frgan/overview"]
REFERENCE_PAGES = ["book/setup", "book/reference/cli", "book/reference/api", "book/reference/map",
                   "book/reference/data-format", "book/reference/bibliography"]
# The training chapters show the loss terms they train with, rendered from the library.
LOSS_CODE = {"notebooks/affinegan/training": ["affinegan"], "notebooks/fan/training": ["fan", "convlstm"],
             "notebooks/frgan/training": ["frgan"]}
# Sphinx marks every formula so; a page with one loads MathJax (bundled: see _config.yml).
MATH_MARK = 'class="math notranslate nohighlight"'
MATHJAX_JS = "tex-chtml.js"
# The chapters whose notebooks call render.scrubber( / to_jshtml( (test_the_interactive_pages_are_named
# keeps these lists equal to what the notebooks call): each page must show them, and they must work.
SCRUBBER_PAGES = ["notebooks/data/data", "notebooks/fan/training", "notebooks/affinegan/training",
                  "notebooks/frgan/training", "notebooks/frgan/pose"]
JSHTML_PAGES = ["notebooks/data/data", "notebooks/fan/training", "notebooks/affinegan/training",
                "notebooks/frgan/training"]

pytestmark = pytest.mark.slow


BUILD_PY = load_script("book/build.py", "i2v_book_build")
TOC_PAGES = [str(Path(e).with_suffix("")) if Path(e).suffix in BUILD_PY.SUFFIXES else e
             for e in BUILD_PY.toc_files(ROOT / "_toc.yml")]
# The chapters the build executes; a notebook of BUILD_PY.COMMITTED (the quickstart) is published as committed.
TOC_NOTEBOOKS = [f"{p}.ipynb" for p in TOC_PAGES
                 if (ROOT / f"{p}.ipynb").is_file() and f"{p}.ipynb" not in BUILD_PY.COMMITTED]


@pytest.fixture(scope="module")
def book(smoke_book):
    """The smoke book, built once per test run (tests/conftest.py): the build's process, its folders and seconds."""
    build = json.loads((smoke_book / "build.json").read_text())
    proc = SimpleNamespace(returncode=build["returncode"], stdout=build["stdout"], stderr=build["stderr"])
    return SimpleNamespace(proc=proc, out=smoke_book, src=smoke_book / "src", html=smoke_book / "_build" / "html",
                           seconds=build["seconds"])


def _require_build(book):
    if book.proc.returncode != 0:
        pytest.fail("book build failed:\n" + (book.proc.stdout + book.proc.stderr)[-4000:])


def _math_pages(book) -> list[str]:
    return [p for p in TOC_PAGES if MATH_MARK in (book.html / f"{p}.html").read_text()]


def _mathjax_scripts(book, page: str) -> list[str]:
    html = (book.html / f"{page}.html").read_text()
    return [src for src in re.findall(r'<script[^>]+src="([^"]+)"', html) if "mathjax" in src.lower()]


def _notebooks_calling(pattern: str) -> list[str]:
    """The toc notebooks with a code cell that matches ``pattern``, as page names."""
    found = []
    for rel in TOC_NOTEBOOKS:
        nb = nbformat.read(ROOT / rel, as_version=4)
        if any(c.cell_type == "code" and re.search(pattern, c.source) for c in nb.cells):
            found.append(rel.removesuffix(".ipynb"))
    return found


# ----------------------------------------------------------------------------- build + notebooks

def test_build_succeeds(book):
    _require_build(book)
    out = book.proc.stdout
    for rel in TOC_NOTEBOOKS:
        assert re.search(r"^  " + re.escape(rel) + r" +[\d.]+ s$", out, re.M), f"no wall time printed for {rel}"
    assert "notebooks executed in" in out
    assert set(json.loads((book.out / "chapter_seconds.json").read_text())) == set(TOC_NOTEBOOKS)   # the next order
    assert f"open the book: file://{book.html / 'index.html'}" in out


def test_the_toc_names_the_parts_of_the_book():
    assert TOC_PAGES[0] == "book/intro"
    for page in ["notebooks/quickstart", "book/setup", "notebooks/data/data", *MATH_PAGES[1:], *REFERENCE_PAGES[1:]]:
        assert page in TOC_PAGES
    assert all(rel.removesuffix(".ipynb") in TOC_PAGES for rel in BUILD_PY.COMMITTED)


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


# What a published page must not show a reader: debugging output of the build (issue: a book a reader can follow).
DEBUG_OUTPUT = {
    "a traceback": re.compile(r"Traceback \(most recent call last\)"),
    "a warning": re.compile(r"\b[A-Z]\w*Warning: "),
    "a printed dict": re.compile(r"^\s*\{\s*['\"]?[\w ]+['\"]?: ", re.M),
    "a repr": re.compile(r"<[\w.]+ object at 0x|<(\w*Model|\w+Instrument|Clip|SyntheticBenchmark)\b"),
    "a run log": re.compile(r"training \d+ runs? in \d+ parallel|^\s*finished \w+-[0-9a-f]{12}\s*$"
                            r"|trained in \d+ s|\d+ steps in \d+ s|scored in \d+ s; ", re.M),
    "a path of a temporary folder": re.compile(r"(?<![\w.])/tmp/"),
    "a nan in a table": re.compile(r"\|\s*nan\s*\|", re.I),
}
PRINTED_ONLY = ("a printed dict",)     # what only a print shows (a Markdown display may hold it)


def _output_texts(cell) -> list[tuple[str, str]]:
    """(kind, text) of each output a reader sees: ``stdout``, ``stderr``, a display's Markdown (``display``) or a
    value shown as its Python repr, text/plain alone (``value``: a cell's last expression, as a dict returned by a
    call that only glues)."""
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append((o.get("name", "stdout"), o.get("text", "")))
        elif o.get("output_type") in ("execute_result", "display_data"):
            data = o.get("data", {})                 # a glued value (papermill.record) is not shown where made
            plain = set(data) == {"text/plain"}
            shown = data.get("text/markdown") or (data.get("text/plain") if plain else "")
            out.append(("value" if plain else "display", shown if isinstance(shown, str) else "".join(shown or "")))
    return out


@pytest.mark.parametrize("rel", TOC_NOTEBOOKS)
def test_a_page_shows_no_debugging_output(book, rel):
    """No traceback, warning, printed dict, repr or run log in a page's outputs (a training's progress on stderr,
    where a profile that trains shows it, may stay), no Markdown printed as plain text, and no ``nan`` in a table
    anywhere on the page (its paths: :func:`test_no_page_shows_a_path_of_the_build_machine`, over every page)."""
    _require_build(book)
    nb = nbformat.read(book.src / rel, as_version=4)
    found = []
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        for kind, text in _output_texts(cell):
            if kind == "stdout" and "`" in text:
                found.append(f"code cell {i} (stdout): Markdown printed as plain text: {text[:100]!r}")
            for what, pattern in DEBUG_OUTPUT.items():
                if kind == "stderr" and what in ("a printed dict", "a repr", "a run log"):
                    continue
                if kind == "display" and what in PRINTED_ONLY:
                    continue
                if (hit := pattern.search(text)):
                    found.append(f"code cell {i} ({kind}): {what}: {text[max(0, hit.start() - 40):hit.end() + 60]!r}")
    html = (book.html / rel.replace(".ipynb", ".html")).read_text()   # its paths: test_no_page_shows_a_path_...
    if re.search(r"<td[^>]*>\s*nan\s*</td>", html, re.I):
        found.append("a table cell reads nan")
    assert not found, f"{rel}:\n" + "\n".join(found)


def test_no_page_shows_a_path_of_the_build_machine(book):
    """Pages written in Markdown too (the API reference prints default arguments: a folder of the package must not
    appear as the build machine's absolute path)."""
    _require_build(book)
    shown = {p: w for p in TOC_PAGES for w in {str(ROOT), str(book.out)} if w in (book.html / f"{p}.html").read_text()}
    assert not shown, shown


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


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('PROFILE = "book"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *map(nbformat.v4.new_code_cell, sources)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_chapters_run_side_by_side_and_a_failure_stops_the_build(tmp_path):
    _notebook(tmp_path / "good.ipynb", "x = 1")
    _notebook(tmp_path / "slow.ipynb", "import time; time.sleep(3)")
    _notebook(tmp_path / "broken.ipynb", "1 / 0  # boom")
    seconds = tmp_path / "out" / "chapter_seconds.json"
    BUILD_PY.execute_all(tmp_path, ["good.ipynb", "slow.ipynb"], "smoke", 2, seconds)
    first = json.loads(seconds.read_text())
    assert set(first) == {"good.ipynb", "slow.ipynb"} and first["slow.ipynb"] >= 3
    assert nbformat.read(tmp_path / "good.ipynb", as_version=4).cells[-1].execution_count   # executed in place
    with pytest.raises(BUILD_PY.BuildError, match="broken.ipynb.*ZeroDivisionError"):
        BUILD_PY.execute_all(tmp_path, ["good.ipynb", "broken.ipynb"], "smoke", 2, seconds)
    assert json.loads(seconds.read_text())["slow.ipynb"] == first["slow.ipynb"]   # earlier timings are kept


def test_each_chapter_runs_in_its_own_folder_when_chapters_run_side_by_side(tmp_path):
    """A chapter writes its files beside itself (outputs/): run side by side, each kernel starts in its notebook's
    folder, never in another's or in the folder the build was started from (papermill's cwd= changed the whole
    process's folder, and make book once left outputs/ in the repository root)."""
    names = [f"ch{i}" for i in range(4)]
    for name in names:
        (tmp_path / name).mkdir()
        _notebook(tmp_path / name / "nb.ipynb",
                  "import os, pathlib, time; time.sleep(0.5); pathlib.Path('here.txt').write_text(os.getcwd())")
    BUILD_PY.execute_all(tmp_path, [f"{n}/nb.ipynb" for n in names], "smoke", 4, tmp_path / "seconds.json")
    for name in names:
        assert Path((tmp_path / name / "here.txt").read_text()).resolve() == (tmp_path / name).resolve()
    assert not (tmp_path / "here.txt").exists() and not (ROOT / "here.txt").exists()


def test_a_published_page_shows_no_parameters_set_up_or_silent_cell_and_hides_its_code(tmp_path):
    """publish: the parameters cell, papermill's, the Colab set-up cell's code and every cell that shows nothing
    (a glued value is not shown) leave the page; on a page whose code does not teach, the rest of the code hides
    behind a toggle; on a derivation it stays; a cell tagged by its author keeps its tags."""
    def cell(source, tags=(), outputs=()):
        c = nbformat.v4.new_code_cell(source)
        c.metadata["tags"] = list(tags)
        c.outputs = [nbformat.v4.new_output(**o) for o in outputs]
        return c

    shown = {"output_type": "stream", "name": "stdout", "text": "a table\n"}
    glued = {"output_type": "display_data", "data": {"text/plain": "1"}, "metadata": {"scrapbook": {"name": "k"}}}
    for rel, teaching in (("notebooks/fan/ablations.ipynb", False), ("notebooks/fan/derivation.ipynb", True)):
        nb = nbformat.v4.new_notebook()
        nb.cells = [cell('PROFILE = "book"', ["parameters"]), cell('PROFILE = "smoke"', ["injected-parameters"]),
                    cell('if "google.colab" in sys.modules:\n    pass', outputs=[shown]),
                    cell("x = 1", outputs=[glued]), cell("print(x)", outputs=[shown]), cell("y = 2", ["remove-input"])]
        path = tmp_path / "page.ipynb"
        nbformat.write(nb, path)
        BUILD_PY.publish(path, rel)
        tags = [c.metadata.get("tags", []) for c in nbformat.read(path, as_version=4).cells]
        assert "remove-cell" in tags[0] and "remove-cell" in tags[1]
        assert tags[2] == ["remove-input"] and tags[5] == ["remove-input"]
        assert tags[3] == ([] if teaching else ["remove-cell"])
        assert tags[4] == ([] if teaching else ["hide-input"])


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
    assert _mathjax_scripts(book, page), "no MathJax script"
    assert html.count(MATH_MARK) >= 3
    assert "reference/bibliography.html#" in html, "no citation links to the bibliography"


def test_mathjax_is_bundled_with_the_book(book):
    """Every page with math loads MathJax 3 from the book's own _static/mathjax (sphinx-mathjax-offline),
    so that formulas typeset with no network; no page names a MathJax on another host."""
    _require_build(book)
    bundle = book.html / "_static" / "mathjax"
    assert (bundle / MATHJAX_JS).is_file(), f"no {MATHJAX_JS} in {bundle}"
    assert re.search(r'VERSION="3\.\d+\.\d+"', (bundle / MATHJAX_JS).read_text()), "the bundle is not MathJax 3"
    assert list((bundle / "output" / "chtml" / "fonts" / "woff-v2").glob("MathJax_Main-Regular.woff")), \
        "the bundle has no CHTML fonts"
    pages = _math_pages(book)
    assert set(MATH_PAGES) <= set(pages) and "notebooks/fan/training" in pages, pages
    for page in TOC_PAGES:
        srcs = _mathjax_scripts(book, page)
        remote = [src for src in srcs if re.match(r"(https?:)?//", src)]
        assert not remote, f"{page}: MathJax from the network: {remote}"
        if page in pages:
            local = [(book.html / page).parent / src.split("?")[0] for src in srcs]
            assert local and all(f.resolve() == (bundle / MATHJAX_JS).resolve() for f in local), \
                f"{page}: MathJax scripts {srcs}, not the bundle's {MATHJAX_JS}"


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
                 "i2vlib.models.gan.GANTrainer.loss_table", "i2vlib.train.train", "i2vlib.runs.cached_run",
                 "i2vlib.runs.cached_runs", "i2vlib.evaluate.evaluate", "i2vlib.config.profile",
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

# Console messages that are not the book's fault: the theme's note on a first visit, when the browser has no
# stored light/dark preference yet.
BENIGN = [r"Got invalid theme mode: \. Resetting to auto"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _severe_errors(log: list[dict]) -> list[str]:
    """SEVERE console messages (JavaScript errors, failed loads), less the BENIGN ones."""
    return [e["message"] for e in log
            if e.get("level") == "SEVERE" and not any(re.search(b, e.get("message", "")) for b in BENIGN)]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        reason = f"headless browser test needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if _in_ci():
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
    # The console, and every request a page makes (the performance log's network events).
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    opts.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True, "enablePage": False})
    # TMPDIR: Chromium's profile and socket folders go under the test's, not into the machine's temporary folder
    tmp = {**os.environ, "TMPDIR": str(tmp_path_factory.mktemp("chromium"))}
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, env=tmp), options=opts)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def _open(driver, path: Path):
    driver.get_log("browser")  # drop messages and requests of the previous page
    driver.get_log("performance")
    driver.get(path.as_uri())
    for _ in range(100):
        if driver.execute_script("return document.readyState") == "complete":
            break
        time.sleep(0.1)


def _requests(driver) -> list[str]:
    """URLs the page requested since it was opened."""
    return list(_traffic(driver))


def _traffic(driver) -> dict[str, int]:
    """``{url: bytes received}`` of the requests since the page was opened (0 for one still loading)."""
    urls, received = {}, {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message.get("method") == "Network.requestWillBeSent":
            urls[params["requestId"]] = params["request"]["url"]
        elif message.get("method") == "Network.loadingFinished":
            received[params["requestId"]] = params.get("encodedDataLength", 0)
    return {url: received.get(rid, 0) for rid, url in urls.items()}


def _typeset(driver, bundle: Path) -> list[str]:
    """What is wrong with the page's math: MathJax 3 must load from ``bundle`` and typeset every formula."""
    loaded = "return !!(window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)"
    for _ in range(100):
        if driver.execute_script(loaded):
            break
        time.sleep(0.1)
    else:
        srcs = driver.execute_script("return [...document.scripts].map(s => s.src).filter(s => /mathjax/i.test(s))")
        return [f"MathJax did not load (scripts: {srcs})"]
    driver.execute_async_script("const done = arguments[arguments.length - 1];"
                                "window.MathJax.startup.promise.then(() => done(true), () => done(false));")
    state = driver.execute_script(
        "const math = [...document.querySelectorAll('.math')];"
        "return {version: window.MathJax.version,"
        "        scripts: [...document.scripts].map(s => s.src).filter(s => /mathjax/i.test(s)),"
        "        typeset: document.querySelectorAll('mjx-container').length, formulas: math.length,"
        "        raw: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60)),"
        "        errors: [...document.querySelectorAll('mjx-merror')].map(e => e.getAttribute('data-mjx-error')"
        "                                                                  || e.textContent.slice(0, 60))};")
    problems = []
    if not str(state["version"]).startswith("3."):
        problems.append(f"MathJax {state['version']!r}, not 3.x")
    home = bundle.as_uri() + "/"
    if not state["scripts"] or not all(s.startswith(home) for s in state["scripts"]):
        problems.append(f"MathJax not from the bundle {home}: {state['scripts']}")
    if state["typeset"] < 1:
        problems.append(f"MathJax typeset no formula ({state['formulas']} on the page)")
    if state["raw"]:
        problems.append(f"{len(state['raw'])} of {state['formulas']} formulas left as raw TeX, e.g. {state['raw'][0]!r}")
    if state["errors"]:
        problems.append(f"MathJax errors: {state['errors'][:3]}")
    return problems


def test_pages_in_a_browser(book, browser):
    """Every page loads with the right title and no JS errors; on every page with math, MathJax 3 loads
    from the book's own bundle and typesets every formula; no page sends a request anywhere but the book's
    own files (no CDN: the book works offline)."""
    _require_build(book)
    math_pages = _math_pages(book)
    assert set(MATH_PAGES) <= set(math_pages), f"pages with math: {math_pages}"
    bundle = book.html / "_static" / "mathjax"
    problems = []
    for page in TOC_PAGES:
        _open(browser, book.html / f"{page}.html")
        h1 = browser.execute_script("const h = document.querySelector('main h1, article h1');"
                                    "return h ? h.textContent.replace(/#$/, '').trim() : null")
        title = browser.title
        if not h1 or not title.endswith("i2v book") or h1.split()[0] not in title:
            problems.append(f"{page}: title {title!r}, heading {h1!r}")
        if page in math_pages:
            problems += [f"{page}: {m}" for m in _typeset(browser, bundle)]
        remote = [u for u in _requests(browser) if not u.startswith(("file:", "data:", "blob:", "about:"))]
        problems += [f"{page}: a request left for the network: {u}" for u in remote]
        problems += [f"{page}: {m}" for m in _severe_errors(browser.get_log("browser"))]
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------------------- what the book says, once

# The pages that state the book's counts (every other page states its own chapter's).
COUNT_PAGES = ["book/intro", "notebooks/verdicts/verdicts", "book/fan/overview", "book/affinegan/overview",
               "book/frgan/overview", "book/reference/glossary"]
COUNT = re.compile(r'<span class="i2v-count" data-count="([\w]+)">([^<]*)</span>')


def _glued(book, rel: str) -> dict[str, str]:
    """``{key: its text}`` of every value the executed notebook ``rel`` glued."""
    out = {}
    for cell in nbformat.read(book.src / rel, as_version=4).cells:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                data = o.get("data", {})
                text = next((v for k, v in data.items() if k.endswith("text/plain")), "")
                out[name] = text.strip("'\"")
    return out


def test_a_count_of_claims_shown_on_two_pages_is_the_same_number(book):
    """Every count of the book's claims is glued from one function (i2vlib.render.findings.book_counts) in the
    verdicts notebook and marked with what it counts: wherever a page shows a count it is that notebook's number (so
    two pages never disagree), its counts add up, and no page that states the book's counts types one ("67 claims")
    instead of pasting it."""
    _require_build(book)
    glued = _glued(book, "notebooks/verdicts/verdicts.ipynb")
    seen: dict[str, dict[str, str]] = {}
    for page in TOC_PAGES:
        for key, value in COUNT.findall((book.html / f"{page}.html").read_text()):
            seen.setdefault(key, {})[page] = value
    wrong = {key: by_page for key, by_page in seen.items() if set(by_page.values()) != {glued.get(key)}}
    assert not wrong, f"pages show a count that is not the verdicts notebook's: {wrong}"
    assert {"found_total", "found_exploratory_tested", "found_exploratory_changes"} <= set(seen)
    assert {p for by in seen.values() for p in by} >= set(COUNT_PAGES) - {"book/reference/glossary"}
    total = int(glued["found_total"])
    for round_ in ("confirmatory", "exploratory"):
        n = {k.removeprefix(f"found_{round_}_"): int(v) for k, v in glued.items() if k.startswith(f"found_{round_}_")}
        assert n["tested"] + n["not_tested"] == total
        assert n["changes"] == n["budget_dependent"] + n["inconclusive"]
        assert sum(n[f"untested_{w}"] for w in findings.UNTESTED) == n["not_tested"]     # every kind, each counted
    typed = re.compile(r"\b\d+\s+(?:(?:of\s+)?(?:its|the|their|all|these)\s+)?(?:[\w-]+\s+){0,2}claims\b")
    for page in COUNT_PAGES:
        text = re.sub(r"<[^>]+>", " ", COUNT.sub("N", (book.html / f"{page}.html").read_text()))
        found = [m.group(0) for m in typed.finditer(" ".join(text.split()))]
        assert not found, f"{page} types a count of claims: {found}"


def test_every_picture_says_what_it_shows(book):
    """No picture's alt text is empty or a file's path (each says what the figure shows), and no link of a page
    opens an e-mail (docutils reads "PCK@0.2" as an address)."""
    _require_build(book)
    problems = []
    for page in TOC_PAGES:
        html = (book.html / f"{page}.html").read_text()
        for tag in re.findall(r"<img\b[^>]*>", html):
            alt = re.search(r'\salt="([^"]*)"', tag)
            text = alt.group(1) if alt else ""
            if not text.strip() or "_images/" in text or re.search(r"\.(png|jpe?g|gif|svg)$", text):
                problems.append(f"{page}: {tag[:160]}")
        problems += [f"{page}: an e-mail link {m}" for m in re.findall(r'href="mailto:[^"]*"', html)]
    assert not problems, "\n".join(problems[:20])


def test_a_figure_keeps_its_notebooks_alt_text_when_the_sources_lie_in_build(tmp_path):
    """``make book`` executes the sources in _build/src: the alt text a chapter gave its figure is found there too
    (a filter on "_build" in the whole path once dropped every one, and every figure read "A figure of <title>")."""
    import base64
    import hashlib

    ext = load_script("book/_ext/i2v_html.py", "i2v_html_ext")
    png = base64.b64encode(b"\x89PNG not really").decode()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "display_data", data={"image/png": png}, metadata={"image/png": {"alt": "three faces smiling"}})])])
    for root in (tmp_path / "_build" / "src", tmp_path / "elsewhere"):
        (root / "notebooks").mkdir(parents=True)
        nbformat.write(nb, root / "notebooks" / "a.ipynb")
        (root / "_build" / "jupyter_execute").mkdir(parents=True)          # myst-nb's copies stay out
        assert ext.alt_texts(root) == {hashlib.sha256(base64.b64decode(png)).hexdigest(): "three faces smiling"}


def test_the_site_offers_the_notebooks_without_their_outputs(book):
    """The pages show the outputs; the notebooks offered for download (_sources) are as committed, without them."""
    _require_build(book)
    sources = list((book.html / "_sources").rglob("*.ipynb"))
    assert sources, "no notebook offered for download"
    for path in sources:
        nb = json.loads(path.read_text())
        assert not [c for c in nb["cells"] if c["cell_type"] == "code" and c["outputs"]], path


PAGE_HTML_LIMIT = 2 * 2**20     # bytes of one page's HTML: pictures are files or light, not megabytes inline


def test_pages_are_light_and_the_site_ships_what_pages_load(book):
    """No page's HTML exceeds PAGE_HTML_LIMIT; no page links the theme's Font Awesome script (1.5 MB that redraws
    icons its style sheet already draws) and the site holds no MathJax bundle but the one the pages load."""
    _require_build(book)
    heavy = {p: (book.html / f"{p}.html").stat().st_size for p in TOC_PAGES}
    assert not {p: n for p, n in heavy.items() if n > PAGE_HTML_LIMIT}, heavy
    assert not [p for p in TOC_PAGES if "fontawesome.js" in (book.html / f"{p}.html").read_text()]
    assert not list((book.html / "_static" / "scripts").glob("fontawesome.js*"))
    bundles = sorted(f.name for f in (book.html / "_static" / "mathjax").glob("*.js")
                     if re.fullmatch(r"(tex|mml)-.*\.js|node-main\.js", f.name))
    assert bundles == [MATHJAX_JS], bundles


def test_icons_show_and_frame_grids_are_drawn_as_pixels(book, browser):
    """The theme's icons draw from its icon font without the Font Awesome script, and a chapter's frame grids
    (image files drawn at their display size, each frame's pixel a square) show at their own pixels, neither shrunk
    nor smoothed."""
    _require_build(book)
    pages = _notebooks_calling(r"\bshow_grid\(")
    assert pages, "no chapter calls show_grid"
    _open(browser, book.html / f"{pages[0]}.html")
    icons = browser.execute_script(        # the icons a reader sees (the theme hides some at this width)
        "return [...document.querySelectorAll('i[class*=fa-]')].filter(i => i.offsetParent).map(i => {"
        "  const s = getComputedStyle(i, '::before');"
        "  return [i.className, s.fontFamily, s.content, i.getBoundingClientRect().width]; });")
    assert len(icons) >= 3, f"the page shows {len(icons)} icons"
    blank = [i for i in icons if "Font Awesome" not in i[1] or i[2] in ("none", "normal", '""') or i[3] <= 0]
    assert not blank, f"icons that draw nothing: {blank}"
    fonts = browser.execute_async_script("const done = arguments[arguments.length - 1]; document.fonts.ready.then("
                                         "() => done(['Free', 'Brands'].map(f => document.fonts.check("
                                         "'900 16px \"Font Awesome 6 ' + f + '\"'))));")
    assert all(fonts), f"the icon fonts did not load: {fonts}"
    grids = browser.execute_async_script(     # each picture scrolled into view, so that its lazy load happens
        "const done = arguments[arguments.length - 1];"
        "const imgs = [...document.querySelectorAll('div.cell_output img[style*=width]')];"
        "imgs.forEach(i => { i.loading = 'eager'; });"
        "Promise.all(imgs.map(i => i.decode().catch(() => null))).then(() => done(imgs.map(i =>"
        "  [getComputedStyle(i).imageRendering, i.naturalWidth, i.getBoundingClientRect().width])));")
    assert grids, f"{pages[0]}: no frame grid image"
    whole = lambda natural, shown: natural > 0 and abs(shown / natural - round(shown / natural)) < 0.01   # noqa: E731
    assert all(r == "pixelated" and whole(natural, shown) and shown >= natural for r, natural, shown in grids), grids


def _pages_with(book, marker: str) -> list[str]:
    return [p for p in TOC_PAGES if marker in (book.html / f"{p}.html").read_text()]


def test_the_interactive_pages_are_named():
    """SCRUBBER_PAGES and JSHTML_PAGES are the chapters whose notebooks make scrubbers and animations."""
    assert sorted(_notebooks_calling(r"\bscrubber\(")) == sorted(SCRUBBER_PAGES)
    assert sorted(_notebooks_calling(r"\bto_jshtml\(")) == sorted(JSHTML_PAGES)


def test_static_scrubbers_respond(book, browser):
    _require_build(book)
    pages = sorted(set(SCRUBBER_PAGES) | set(_pages_with(book, "i2v-scrubber")), key=TOC_PAGES.index)
    for page in pages:
        _open(browser, book.html / f"{page}.html")
        scrubbers = browser.find_elements("css selector", "div.i2v-scrubber")
        assert scrubbers, f"{page}: no scrubber (div.i2v-scrubber) on the page, though its notebook makes one"
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
    pages = sorted(set(JSHTML_PAGES) | set(_pages_with(book, "_anim_img")), key=TOC_PAGES.index)
    state = ("const img = arguments[0]; const a = window['anim' + img.id.replace('_anim_img', '')];"
             "return [a.current_frame, img.src === a.frames[a.current_frame].src, a.frames.length];")
    for page in pages:
        _open(browser, book.html / f"{page}.html")
        animations = browser.find_elements("css selector", "div.animation")
        assert animations, f"{page}: no to_jshtml animation (div.animation) on the page, though its notebook makes one"
        for k, anim in enumerate(animations[:3]):
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


# ----------------------------------------------------------------------------- the live widget

# The pages with an in-browser model (book/_ext/i2v_live.py; test_the_live_pages_are_named keeps the list).
LIVE_PAGES = ["book/intro", "notebooks/fan/training", "notebooks/affinegan/training"]
WIDGET_PAGE_LIMIT = 3 * 2**20    # bytes the front page downloads (uncompressed) before the reader touches its widget


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    """The built site over HTTP, as a host serves it (WebAssembly cannot load from file: URLs)."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".wasm": "application/wasm", ".onnx": "application/octet-stream"}

    def log_message(self, *args):
        pass


def _serve(directory: Path):
    """Serve ``directory`` over HTTP on a free local port, in a thread; yields its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_QuietFiles, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def site(book):
    _require_build(book)
    yield from _serve(book.html)


@pytest.fixture(scope="module")
def widget_page(tmp_path_factory):
    """One page with the live widget of zoo:fan-happy, its files written by the book's extension as a build writes
    them (book/_ext/i2v_live.py; onnxruntime-web cached in _build/vendor), served over HTTP: the widget without
    building the book."""
    live = load_script("book/_ext/i2v_live.py", "i2v_live_ext")
    out = tmp_path_factory.mktemp("widget")
    manifest = live.write_site(out / "_static" / "i2v-live", ["fan-happy"], ROOT / "_build" / "vendor")
    (out / "index.html").write_text(
        '<!doctype html><html><head><meta charset="utf-8"><title>live</title>'
        '<link rel="stylesheet" href="_static/i2v-live/i2v-live.css">'
        '<script src="_static/i2v-live/i2v-live.js" defer></script></head>'
        '<body><div class="i2v-live" data-models="fan-happy"></div></body></html>')
    for url in _serve(out):
        yield SimpleNamespace(url=f"{url}/index.html", manifest=manifest)


def _rendered(driver, root, more_than: int, timeout: float = 90) -> int:
    """Wait until the widget ``root`` has drawn more than ``more_than`` frames; the count."""
    for _ in range(int(timeout * 10)):
        count = int(root.get_attribute("data-rendered") or 0)
        status = root.find_element("css selector", ".i2v-live-status").text
        assert not status.startswith("error"), status
        if count > more_than and not driver.execute_script("return !!arguments[0].i2vLive.busy", root):
            return int(root.get_attribute("data-rendered"))
        time.sleep(0.1)
    raise AssertionError(f"the widget drew no new frame in {timeout} s (status: {status!r})")


def _canvas(driver, root, which: str = "output") -> np.ndarray:
    """The pixels of the widget's output (or input) canvas: H x W x 3 uint8."""
    w, h, rgba = driver.execute_script(
        "const c = arguments[0].querySelector('canvas.i2v-live-' + arguments[1]);"
        "return [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)];",
        root, which)
    return np.array(rgba, dtype=np.uint8).reshape(h, w, 4)[..., :3]


def _drag(driver, root, expression: str, value: float) -> None:
    """Move one expression's slider as a reader's drag does: its value changes, an input event follows."""
    slider = root.find_element("css selector", f"input[type=range][name='{expression}']")
    driver.execute_script("arguments[0].value = arguments[1];"
                          "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", slider, str(value))


def test_the_live_pages_are_named(book):
    _require_build(book)
    assert _pages_with(book, 'class="i2v-live"') == LIVE_PAGES


def test_the_live_widget_runs_the_zoo_models_in_the_browser(book, browser, site, tmp_path):
    """Each page's widget loads nothing heavy until the reader touches it (onnxruntime-web and the model load at the
    first click), then loads its first model from the book's own files, draws the first benchmark face, and
    redraws when a slider moves; the frame equals the Python generator's for the same face and intensities
    (within 2 grey levels, as i2v export promises); a photo of the reader's own comes back animated; not one
    request leaves the local server."""
    import i2vlib

    live = book.html / "_static" / "i2v-live"
    manifest = json.loads((live / "manifest.json").read_text())
    face = np.asarray(Image.open(live / "faces" / manifest["faces"][0]).convert("RGB"))
    for page in LIVE_PAGES:
        browser.get_log("browser")
        browser.get_log("performance")
        browser.execute_cdp_cmd("Network.clearBrowserCache", {})
        browser.get(f"{site}/{page}.html")
        root = browser.find_element("css selector", "div.i2v-live")
        time.sleep(1.0)                       # the page has loaded: the widget waits for the reader's first touch
        traffic = _traffic(browser)
        loaded = list(traffic)
        early = [u for u in loaded if "/i2v-live/ort/" in u or "/i2v-live/models/" in u]
        assert not early and int(root.get_attribute("data-rendered") or 0) == 0, f"{page}: loaded before a touch: {early}"
        if page == LIVE_PAGES[0]:             # the book's front page: all of it, uncompressed, before a touch
            assert sum(traffic.values()) < WIDGET_PAGE_LIMIT, f"{page}: {sum(traffic.values())} bytes before a touch"
        root.find_element("css selector", ".i2v-live-faces img").click()
        count = _rendered(browser, root, 0)
        name = browser.execute_script("return arguments[0].i2vLive.name", root)
        model = i2vlib.load(f"zoo:{name}")
        values = {e: 0.0 for e in model.expressions}
        at_zero = _canvas(browser, root)
        assert np.abs(at_zero.astype(int) - model.generate(face, [0.0], expression=model.expressions[0])[0]).max() <= 2
        for expression, value in zip(model.expressions, (0.8, 0.45)):     # a mix where the model knows several
            _drag(browser, root, expression, value)
            values[expression] = value
            count = _rendered(browser, root, count)
        shown = _canvas(browser, root)
        want = model.generate(face, {e: [v] for e, v in values.items() if v > 0})[0]
        assert np.abs(shown.astype(int) - want).max() <= 2, f"{page}: {name} at {values} differs from generate"
        assert np.abs(shown.astype(int) - at_zero).mean() > 0.5, f"{page}: the slider did not change the frame"
        photo = tmp_path / "photo.png"        # a reader's photo: not square, not the model's size
        pixels = np.asarray(Image.open(live / "faces" / manifest["faces"][1]).convert("RGB").resize((90, 70)))
        Image.fromarray(pixels).save(photo)
        root.find_element("css selector", "input[type=file]").send_keys(str(photo))
        count = _rendered(browser, root, count)
        after = _canvas(browser, root)                # the photo at its own size, its face box animated
        box = browser.execute_script("return arguments[0].i2vLive.photo.box", root)
        inside = (slice(box["y"], box["y"] + box["side"]), slice(box["x"], box["x"] + box["side"]))
        outside = np.ones(pixels.shape[:2], bool)
        outside[inside] = False
        assert after.shape == pixels.shape and np.array_equal(after[outside], pixels[outside]), page
        assert np.abs(after[inside].astype(int) - pixels[inside]).mean() > 0.5, f"{page}: the photo changed nothing"
        remote = [u for u in loaded + _requests(browser) if not u.startswith((site, "data:", "blob:", "about:"))]
        assert not remote, f"{page}: requests left the local server: {remote}"
        errors = [e for e in _severe_errors(browser.get_log("browser")) if "/favicon.ico " not in e]  # a server's 404
        assert not errors, f"{page}: {errors}"


def test_the_live_widget_animates_a_photo_in_a_face_box_and_pastes_it_back(widget_page, browser, tmp_path):
    """A reader's photo: the page says, once and in one line, what the model was trained on; the reader drags the
    square face box onto the face and sizes it; the frame comes back as the photo at its own size, the face box's
    inside animated and every pixel outside it the photo's own; a benchmark face brings the model's square back."""
    from selenium.webdriver import ActionChains
    from skimage import data

    photo = data.astronaut()
    path = tmp_path / "astronaut.png"
    Image.fromarray(photo).save(path)
    browser.get(widget_page.url)
    root = browser.find_element("css selector", "div.i2v-live")
    root.find_element("css selector", ".i2v-live-faces img").click()
    count = _rendered(browser, root, 0)
    domain = root.find_element("css selector", ".i2v-live-domain")
    assert not domain.is_displayed()                                     # a benchmark face: nothing to say
    root.find_element("css selector", "input[type=file]").send_keys(str(path))
    count = _rendered(browser, root, count)
    said = domain.text
    assert domain.is_displayed() and "\n" not in said and "synthetic face benchmark" in said, said
    assert said.startswith("zoo:fan-happy was trained on") and said.count("expect") == 1
    assert _canvas(browser, root, "input").shape == photo.shape and _canvas(browser, root).shape == photo.shape
    size = root.find_element("css selector", "input[type=range][name='face-box']")
    browser.execute_script("arguments[0].value = arguments[1];"
                           "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", size, str(149 / 512))
    count = _rendered(browser, root, count)
    canvas = root.find_element("css selector", "canvas.i2v-live-input")
    scale = canvas.size["width"] / photo.shape[1]                        # CSS pixels per photo pixel
    face_x, face_y = 223.5, 115.5                                        # the centre of dlib's box, i2vlib.faces.paste
    ActionChains(browser).move_to_element_with_offset(canvas, 0, 0).click_and_hold().move_to_element_with_offset(
        canvas, (face_x - photo.shape[1] / 2) * scale, (face_y - photo.shape[0] / 2) * scale).release().perform()
    count = _rendered(browser, root, count)
    box = browser.execute_script("return arguments[0].i2vLive.photo.box", root)
    assert abs(box["x"] + box["side"] / 2 - face_x) < 4 and abs(box["y"] + box["side"] / 2 - face_y) < 4, box
    assert abs(box["side"] - 149) <= 1, box
    at_zero = _canvas(browser, root)
    _drag(browser, root, "happy", 1.0)
    count = _rendered(browser, root, count)
    smile = _canvas(browser, root)
    x0, y0, x1, y1 = box["x"], box["y"], box["x"] + box["side"], box["y"] + box["side"]
    outside = np.ones(photo.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    for frame in (at_zero, smile):
        assert np.array_equal(frame[outside], photo[outside])
    mouth = (slice(y0 + box["side"] // 2, y1 - box["side"] // 5), slice(x0 + box["side"] // 3, x1 - box["side"] // 3))
    assert np.abs(smile[mouth].astype(int) - at_zero[mouth]).mean() > 2          # the smile is drawn in the box
    assert np.abs(at_zero[y0:y1, x0:x1].astype(int) - photo[y0:y1, x0:x1]).mean() < 12   # at 0, the face back
    root.find_element("css selector", ".i2v-live-faces img").click()
    _rendered(browser, root, count)
    assert _canvas(browser, root).shape == (64, 64, 3)
    assert not root.find_element("css selector", ".i2v-live-box").is_displayed()
    log = browser.get_log("browser")
    assert not [e for e in _severe_errors(log) if "/favicon.ico " not in e], log    # favicon: a server's 404
    assert not [e["message"] for e in log if "willReadFrequently" in e["message"]]    # pixels read without a warning


# Pages whose code teaches and stays visible (book/build.py's TEACHING); every other page shows at most this many lines
# of code without a click.
CODE_LINES_LIMIT = 40


def test_no_table_overflows_the_column_and_code_stays_out_of_the_way(book, site, tmp_path_factory, monkeypatch):
    """At a laptop's 1280 CSS px no table of any page is wider than the text column (benchmarks/layout.py measures
    the same), and a page whose code does not teach shows at most CODE_LINES_LIMIT lines of it without a click."""
    _require_build(book)
    # Chromium's profile and socket folders under the test's; a short path, since a socket's is at most 107 bytes
    monkeypatch.setenv("TMPDIR", str(tmp_path_factory.mktemp("chromium")))
    layout = load_script("benchmarks/layout.py", "i2v_layout")
    driver = layout.driver_at(1280)
    problems = []
    try:
        for page in TOC_PAGES:
            driver.get(f"{site}/{page}.html")
            time.sleep(0.3)
            m = driver.execute_script(layout.MEASURE)
            problems += [f"{page}: a table {t['width']} px wide in a {t['column']} px column ({t['first']!r})"
                         for t in m["overflowing"]]
            teaching = any(fnmatch.fnmatch(f"{page}.ipynb", p) for p in BUILD_PY.TEACHING)
            if not teaching and m["code_lines"] > CODE_LINES_LIMIT:
                problems.append(f"{page}: {m['code_lines']} lines of code visible without a click")
    finally:
        driver.quit()
    assert not problems, "\n".join(problems)


COLAB = re.compile(r'https://colab\.research\.google\.com/github/([^/"]+/[^/"]+)/blob/([^/"]+)/([^"#?\s)]+)')


def test_every_colab_link_opens_a_notebook_of_the_repository(book):
    """The launch buttons of the chapters and the links of the pages and the README name notebooks that exist,
    in the repository and on the branch that _config.yml names."""
    _require_build(book)
    import yaml

    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    links = {(page, m) for page in TOC_PAGES for m in COLAB.findall((book.html / f"{page}.html").read_text())}
    links |= {("README.md", m) for m in COLAB.findall((ROOT / "README.md").read_text())}
    chapters = {p for p in TOC_PAGES if (ROOT / f"{p}.ipynb").is_file()}
    assert chapters <= {page for page, _ in links}, f"chapters without a Colab link: {chapters - {p for p, _ in links}}"
    for page, (where, branch, path) in links:
        assert f"https://github.com/{where}" == repo["url"] and branch == repo["branch"], (page, where, branch)
        assert path.endswith(".ipynb") and (ROOT / path).is_file(), f"{page}: Colab opens {path}, which does not exist"
