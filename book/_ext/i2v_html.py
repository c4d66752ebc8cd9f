"""Sphinx tweaks for the HTML of the i2v book (loaded from _config.yml: sphinx.local_extensions).

* With Sphinx 7.4, sphinx-thebe's inline configuration script ends up twice on every page, and the second copy is a
  JavaScript error ("Identifier 'THEBE_JS_URL' has already been declared"): repeated inline scripts are dropped just
  before each page is rendered.
* ``i2v-book.css`` (book/_static) is linked from every page: frame grids drawn as pixels.
* The theme starts in its automatic light/dark mode (``html_context["default_mode"]``): unset, its script logs an
  "invalid theme mode" error on a reader's first visit.
* When the build finishes, every picture of a page loads lazily (``loading="lazy"``: the browser fetches it as the
  reader scrolls near it, so opening a chapter does not download all its figures) and carries the alt text its
  notebook gave it (:func:`alt_texts`: a chapter's figure says what it shows, in place of its file's path); an
  e-mail link that docutils made of a word with an ``@`` (``PCK@0.2``) is plain text again; the search index is linked
  from the search page only (the theme links it from every page for a search-as-you-type the book does not turn
  on: 0.2 MB a page); and what no page loads is
  left out of the site: the theme's Font Awesome script (1.5 MB on every page, which redraws the icons that its
  style sheet already draws from the icon font), the MathJax bundles other than the one the pages load
  (``mathjax_path``; sphinx-mathjax-offline copies all of them, 15 MB), and the outputs of the notebooks offered
  for download (``_sources``: each notebook as committed, without outputs; the page shows them).
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import json
import re
import shutil
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "_static"
STYLE = "i2v-book.css"
FONTAWESOME_JS = re.compile(r'\s*<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*></script>')
IMG_TAG = re.compile(r"<img(?![^>]*\sloading=)")
MATHJAX_BUNDLE = re.compile(r"(tex|mml)-.*\.js|node-main\.js")
IMG = re.compile(r"<img\b[^>]*>")
IMAGE_FILE = re.compile(r'src="[^"]*_images/([0-9a-f]{64})\.(?:png|jpe?g|gif)"')
ALT = re.compile(r'\salt="[^"]*"')
MAILTO = re.compile(r'<a class="reference external" href="mailto:[^"]*">(.*?)</a>', re.S)
# The theme links the search index (and the scripts that read it) from every page, for a search-as-you-type that the
# book does not turn on: only the search page reads them.
SEARCH_SCRIPTS = re.compile(r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js'
                            r'|searchindex\.js)"></script>')
H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


def _drop_repeated_inline_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, keep = set(), []
    for script in scripts:
        attrs = getattr(script, "attributes", None) or {}
        key = (getattr(script, "filename", script) or "", tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if attrs.get("body") and key in seen:
            continue
        seen.add(key)
        keep.append(script)
    scripts[:] = keep


def alt_texts(src: Path) -> dict[str, str]:
    """``{sha256 of a picture: its alt text}`` of the executed notebooks under ``src``: what a chapter said its figure
    shows (an output's ``metadata[mime]["alt"]``; :func:`i2vlib.render.show_grid`, and every matplotlib figure after
    :func:`i2vlib.render.setup`). myst-nb names each picture's file by the same hash."""
    out = {}
    for path in src.rglob("*.ipynb"):
        if "_build" in path.parts or ".ipynb_checkpoints" in path.parts:
            continue
        for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
            for output in cell.get("outputs", []):
                for mime in ("image/png", "image/jpeg", "image/gif"):
                    text = (output.get("metadata", {}).get(mime) or {}).get("alt")
                    data = output.get("data", {}).get(mime)
                    if text and data:
                        data = "".join(data) if isinstance(data, list) else data
                        out[hashlib.sha256(base64.b64decode(data)).hexdigest()] = " ".join(str(text).split())
    return out


def with_alt(page_html: str, alts: dict[str, str]) -> str:
    """Each picture of a page with its alt text: the one its notebook gave it, else, where docutils wrote the file's
    path (or nothing), "A figure of <the page's title>"."""
    heading = H1.search(page_html)
    title = re.sub(r"<[^>]+>|#", "", heading.group(1)).strip() if heading else "this page"

    def fix(tag):
        img = tag.group(0)
        found, alt = IMAGE_FILE.search(img), ALT.search(img)
        said = html_lib.unescape(alt.group(0)[6:-1]) if alt else ""
        if found and found.group(1) in alts:
            text = alts[found.group(1)]
        elif not said or "_images/" in said or said.endswith((".png", ".jpg", ".jpeg", ".gif")):
            text = f"A figure of {html_lib.unescape(title)}"
        else:
            return img
        attr = f' alt="{html_lib.escape(text)}"'
        return ALT.sub(lambda _: attr, img, count=1) if alt else img.replace("<img", "<img" + attr, 1)

    return IMG.sub(fix, page_html)


def lighten_pages(html: Path, alts: dict[str, str] | None = None) -> None:
    """Every page under ``html``: its pictures loaded lazily and with their alt text (:func:`with_alt`), no e-mail
    link made of a word, the search index linked from the search page only, the theme's Font Awesome script unlinked
    (and deleted)."""
    for page in html.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        lean = IMG_TAG.sub('<img loading="lazy"', FONTAWESOME_JS.sub("", text))
        lean = MAILTO.sub(lambda m: re.sub(r"<[^>]+>", "", m.group(1)), with_alt(lean, alts or {}))
        if page.name != "search.html":
            lean = SEARCH_SCRIPTS.sub("", lean)
        if lean != text:
            page.write_text(lean, encoding="utf-8")
    for path in (html / "_static" / "scripts").glob("fontawesome.js*"):
        path.unlink()


def strip_sources(html: Path) -> None:
    """The notebooks the pages offer for download (``_sources``) without their outputs, as they are committed: the
    page shows the outputs, and with them the site carried every chapter twice."""
    for path in (html / "_sources").rglob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
        nb.get("metadata", {}).pop("papermill", None)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def drop_unused_mathjax(mathjax: Path, used: str) -> None:
    """Delete MathJax's combined bundles other than ``used`` (a file name in ``mathjax``); the components it loads
    on demand (TeX extensions, fonts, the menu's accessibility and renderer options) stay."""
    for path in mathjax.glob("*.js"):
        if MATHJAX_BUNDLE.fullmatch(path.name) and path.name != used:
            path.unlink()


def _build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    html = Path(app.outdir)
    shutil.copyfile(STATIC / STYLE, html / "_static" / STYLE)
    lighten_pages(html, alt_texts(Path(app.srcdir)))
    strip_sources(html)
    used = Path(str(app.config.mathjax_path or "")).name
    if (html / "_static" / "mathjax" / used).is_file():
        drop_unused_mathjax(html / "_static" / "mathjax", used)


def _default_mode(app, config) -> None:
    config.html_context = {"default_mode": "auto", **(config.html_context or {})}


def setup(app):
    app.connect("config-inited", _default_mode)
    app.connect("html-page-context", _drop_repeated_inline_scripts, priority=999)
    app.add_css_file(STYLE)
    # after sphinx-mathjax-offline's own build-finished handler, which copies MathJax (default priority 500)
    app.connect("build-finished", _build_finished, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
