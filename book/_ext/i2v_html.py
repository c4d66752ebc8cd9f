"""Sphinx tweaks for the HTML of the i2v book (loaded from _config.yml: sphinx.local_extensions).

With Sphinx 7.4, sphinx-thebe's inline configuration script ends up twice on every page,
and the second copy is a JavaScript error ("Identifier 'THEBE_JS_URL' has already been
declared"). Drop repeated inline scripts just before each page is rendered.
"""

from __future__ import annotations


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


def setup(app):
    app.connect("html-page-context", _drop_repeated_inline_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
