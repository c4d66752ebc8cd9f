"""The live widget of the published pages: zoo generators that run in the reader's browser (onnxruntime-web).

A page asks for it with raw HTML in its Markdown, ``<div class="i2v-live" data-models="NAME ..."></div>``; the
script ``book/_static/i2v-live.js`` draws it. When the HTML has been written, this extension fills
``_static/i2v-live/`` with what the script loads:

* ``i2v-live.js`` and ``i2v-live.css``, linked from every page (the script does nothing on a page without a widget);
* ``ort/``: onnxruntime-web's WebAssembly build, vendored from the npm registry at a pinned version whose integrity
  hash is checked (cached in ``_build/vendor``), so that no page loads code from a CDN;
* ``models/NAME.onnx``: every zoo model a page names, written by :func:`i2vlib.onnx_export.to_onnx` (cached by the zoo
  file's hash), and ``faces/``: benchmark faces of test identities, which no model saw in training;
* ``manifest.json``: each model's file, expressions, size, description, what it was trained on and the zoo's checks it
  fails (in words, :func:`failed_checks`), the runtime's size, and the faces.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import urllib.request
from pathlib import Path

from sphinx.errors import ExtensionError

HERE = Path(__file__).resolve().parent
STATIC = HERE.parent / "_static"
ORT_VERSION = "1.30.0"
ORT_TARBALL = f"https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-{ORT_VERSION}.tgz"
ORT_INTEGRITY = "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="
# the WebAssembly build (its license, MIT, heads ort.wasm.min.js)
ORT_FILES = ("dist/ort.wasm.min.js", "dist/ort-wasm-simd-threaded.mjs", "dist/ort-wasm-simd-threaded.wasm")
FACES = 4                                   # benchmark test identities offered as faces
WIDGET = re.compile(r'class="i2v-live"[^>]*data-models="([^"]*)"')


def models_named(html_dir: Path) -> list[str]:
    """Every model a widget of the built pages asks for, in order of first appearance."""
    names = []
    for page in sorted(html_dir.rglob("*.html")):
        for group in WIDGET.findall(page.read_text(encoding="utf-8", errors="replace")):
            names += [n for n in group.split() if n not in names]
    return names


def vendor_runtime(cache: Path, dest: Path) -> None:
    """onnxruntime-web's WebAssembly build into ``dest``, from the npm registry's tarball (kept in ``cache``)."""
    tarball = cache / f"onnxruntime-web-{ORT_VERSION}.tgz"
    if not tarball.is_file():
        try:
            with urllib.request.urlopen(ORT_TARBALL, timeout=120) as response:
                data = response.read()
        except OSError as e:
            raise ExtensionError(f"i2v-live: cannot fetch onnxruntime-web {ORT_VERSION} from the npm registry "
                                 f"({e}); the live widget needs it (or put the tarball at {tarball})") from None
        cache.mkdir(parents=True, exist_ok=True)
        tmp = tarball.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(tarball)
    data = tarball.read_bytes()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != ORT_INTEGRITY:
        raise ExtensionError(f"i2v-live: {tarball} does not match onnxruntime-web {ORT_VERSION}'s integrity hash; "
                             "delete it and build again")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for name in ORT_FILES:
            (dest / Path(name).name).write_bytes(tar.extractfile(f"package/{name}").read())


def failed_checks(name: str) -> list[str]:
    """The zoo's checks (:func:`i2vlib.claims.health.zoo_health`) that zoo model ``name`` fails, each in words with its
    value and bound, e.g. "texture (1 = the truth's) 1.81, at most 1.5"."""
    from i2vlib import zoo
    from i2vlib.claims import health

    record = zoo.record(name)
    method = zoo.ENTRIES[name]["method"]
    judged = health.zoo_health(method, record["scores"])
    says = {c.name: c for c in health.checks_for(method, "zoo")}
    out = []
    for check in judged["failed"]:
        c, v = says[check], judged["checks"][check]
        value = "not measured" if v["value"] is None else f"{v['value']:.2f}"
        out.append(f"{c.says} {value}, {'at most' if c.at_most else 'at least'} {c.bound:g}")
    return out


def export_models(names: list[str], cache: Path, dest: Path) -> dict:
    """Each zoo model of ``names`` as ``dest/NAME.onnx``; returns the manifest's entries."""
    import i2vlib
    from i2vlib import zoo
    from i2vlib.errors import I2VError
    from i2vlib.onnx_export import metadata, to_onnx

    entries = {}
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        try:
            model = i2vlib.load(f"zoo:{name}")
            cached = cache / "models" / f"{name}-{model.checkpoint_hash}.onnx"
            meta = to_onnx(model, cached) if not cached.is_file() else metadata(cached)
        except I2VError as e:
            raise ExtensionError(f"i2v-live: a page asks for zoo:{name}: {e}") from None
        if meta["output"] != "frame":
            raise ExtensionError(f"i2v-live: zoo:{name} renders a fixed clip; the live widget shows frame models")
        shutil.copyfile(cached, dest / f"{name}.onnx")
        entries[name] = {"file": f"{name}.onnx", "expressions": meta["expressions"], "image_size": meta["image_size"],
                         "about": zoo.ENTRIES[name]["about"], "trained_on": zoo.ENTRIES[name]["trained_on"],
                         "bytes": (dest / f"{name}.onnx").stat().st_size, "fails": failed_checks(name)}
    return entries


def write_faces(size: int, dest: Path) -> list[str]:
    """The neutral frames of the benchmark's first test identities, as PNGs."""
    from PIL import Image

    from i2vlib.data.synthetic import SyntheticBenchmark

    bench, names = SyntheticBenchmark(size), []
    dest.mkdir(parents=True, exist_ok=True)
    for k in range(FACES):
        Image.fromarray(bench.video("test", k, curve="linear", n_frames=2).frames[0]).save(dest / f"test-{k}.png")
        names.append(f"test-{k}.png")
    return names


def write_site(out: Path, names: list[str], cache: Path) -> dict:
    """Everything the widget loads, into ``out``: the script, its style and, for the models ``names``, the
    runtime, the models, the faces and the manifest (which is returned)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("i2v-live.js", "i2v-live.css"):
        shutil.copyfile(STATIC / name, out / name)
    if not names:
        return {}
    vendor_runtime(cache, out / "ort")
    models = export_models(names, cache, out / "models")
    faces = write_faces(max(m["image_size"] for m in models.values()), out / "faces")
    runtime = sum((out / "ort" / Path(name).name).stat().st_size for name in ORT_FILES)
    manifest = {"models": models, "faces": faces, "onnxruntime_web": ORT_VERSION, "runtime_bytes": runtime}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def _build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    cache = Path(os.environ.get("I2V_REPO_ROOT") or app.srcdir) / "_build" / "vendor"
    write_site(Path(app.outdir) / "_static" / "i2v-live", models_named(Path(app.outdir)), cache)


def setup(app):
    app.add_js_file("i2v-live/i2v-live.js", defer="defer")
    app.add_css_file("i2v-live/i2v-live.css")
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
