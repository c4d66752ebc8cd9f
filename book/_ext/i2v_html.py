"""Sphinx tweaks for the HTML of the i2v book (loaded from _config.yml: sphinx.local_extensions).

* With Sphinx 7.4, sphinx-thebe's inline configuration script ends up twice on every page, and the second copy is a
  JavaScript error ("Identifier 'THEBE_JS_URL' has already been declared"): repeated inline scripts are dropped just
  before each page is rendered.
* ``i2v-book.css`` (book/_static) is linked from every page: frame grids drawn as pixels.
* When the build finishes, every picture of a page loads lazily (``loading="lazy"``: the browser fetches it as the
  reader scrolls near it, so opening a chapter does not download all its figures), and what no page loads is left
  out of the site: the theme's Font Awesome script (1.5 MB on every page, which redraws the icons that its style
  sheet already draws from the icon font) and the MathJax bundles other than the one the pages load
  (``mathjax_path``; sphinx-mathjax-offline copies all of them, 15 MB).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "_static"
STYLE = "i2v-book.css"
FONTAWESOME_JS = re.compile(r'\s*<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*></script>')
IMG_TAG = re.compile(r"<img(?![^>]*\sloading=)")
MATHJAX_BUNDLE = re.compile(r"(tex|mml)-.*\.js|node-main\.js")


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


def lighten_pages(html: Path) -> None:
    """Every page under ``html``: its pictures loaded lazily, the theme's Font Awesome script unlinked (and deleted)."""
    for page in html.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        lean = IMG_TAG.sub('<img loading="lazy"', FONTAWESOME_JS.sub("", text))
        if lean != text:
            page.write_text(lean, encoding="utf-8")
    for path in (html / "_static" / "scripts").glob("fontawesome.js*"):
        path.unlink()


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
    lighten_pages(html)
    used = Path(str(app.config.mathjax_path or "")).name
    if (html / "_static" / "mathjax" / used).is_file():
        drop_unused_mathjax(html / "_static" / "mathjax", used)


def setup(app):
    app.connect("html-page-context", _drop_repeated_inline_scripts, priority=999)
    app.add_css_file(STYLE)
    # after sphinx-mathjax-offline's own build-finished handler, which copies MathJax (default priority 500)
    app.connect("build-finished", _build_finished, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
