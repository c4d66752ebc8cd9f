"""Colab: where the chapters install i2vlib from, and the notebook cell that does it.

A notebook can import nothing of i2vlib before it has installed it, so its install cell carries the
requirement written out. This module is the one place that says what that requirement is (the
repository, the release tag of :data:`i2vlib.__version__`, the ``colab`` extra) and writes the cell:

    python -m i2vlib.colab notebooks/**/*.ipynb           # rewrite the install blocks and Colab metadata
    python -m i2vlib.colab --check notebooks/**/*.ipynb   # say which notebooks differ (exit 1)

The block is the head of each notebook's first code cell that tests for ``google.colab``; the rest of
that cell is the chapter's own. The environment variable ``I2V_INSTALL``, when set, replaces the pinned
requirement (a fork, a branch, a local checkout: ``i2vlib[colab] @ file:///path/to/repo``).
The notebooks also carry Colab's metadata for a GPU runtime (a T4), so that Colab opens them on one, and an id
on every cell (nbformat 4.5 requires them; a cell added by a script has none until this module writes it).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from .errors import ArgumentParser, I2VError, command_line
from .outputs import atomic_path
from .version import __version__

REPOSITORY = "https://github.com/i2v-book/i2v-book"
ENV = "I2V_INSTALL"
EXTRAS = ("colab",)
# Notebooks that need more than the colab extra: the Data chapter prepares photographs with dlib, and
# the quickstart crops a real photo with it (faces); the Baselines chapter trains FGST on optical flow and its
# derivation page computes one (fgst_parts.optical_flow, OpenCV's Farneback: flow).
NOTEBOOK_EXTRAS = {"data/data.ipynb": ("colab", "faces"), "quickstart.ipynb": ("colab", "faces"),
                   "baselines/baselines.ipynb": ("colab", "flow"), "baselines/derivation.ipynb": ("colab", "flow")}
METADATA = {"accelerator": "GPU", "colab": {"gpuType": "T4"}}
MARKER = '"google.colab" in sys.modules'


def tag(version: str = __version__) -> str:
    """The git tag of a release: ``v`` + its version."""
    return f"v{version}"


def requirement(extras=EXTRAS, version: str = __version__) -> str:
    """The pip requirement of i2vlib with ``extras``, from the repository at the release's tag."""
    return f"i2vlib[{','.join(extras)}] @ git+{REPOSITORY}@{tag(version)}"


def extras_for(notebook) -> tuple[str, ...]:
    """The extras a notebook installs: :data:`NOTEBOOK_EXTRAS` by its path under ``notebooks/``, else ``colab``."""
    parts = Path(notebook).resolve().parts
    below = parts[len(parts) - parts[::-1].index("notebooks"):] if "notebooks" in parts else parts[-1:]
    return NOTEBOOK_EXTRAS.get("/".join(below), EXTRAS)


def install_block(extras=EXTRAS) -> str:
    """The head of a notebook's setup cell: on Colab, pip-install i2vlib (``$I2V_INSTALL`` if set)."""
    return ("import os\n"
            "import subprocess\n"
            "import sys\n"
            "\n"
            f"if {MARKER}:  # Colab: install i2vlib first (this block is written by i2vlib.colab)\n"
            f'    REQUIREMENT = os.environ.get("{ENV}", "{requirement(extras)}")\n'
            '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", REQUIREMENT], check=True)\n')


def _install_cell(nb: dict, where) -> dict:
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and MARKER in "".join(cell["source"]):
            return cell
    raise I2VError(f"{where} has no code cell that tests for {MARKER}: add the block of python -m i2vlib.colab")


def _split(source: str) -> tuple[str, str]:
    """(the install block, the rest): the block ends where the ``if`` statement of :data:`MARKER` ends."""
    lines = source.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if MARKER in line)
    end = start + 1
    while end < len(lines) and lines[end].startswith((" ", "\t")):
        end += 1
    return "".join(lines[:end]), "".join(lines[end:])


def cell_block(notebook) -> str:
    """The install block a notebook holds now."""
    return _split("".join(_install_cell(_read(notebook), notebook)["source"]))[0]


def problems(notebook) -> list[str]:
    """What differs between a notebook and what :func:`write` makes of it (empty: nothing)."""
    nb, out = _read(notebook), []
    if cell_block(notebook) != install_block(extras_for(notebook)):
        out.append(f"{notebook}: its install block is not the one i2vlib.colab writes")
    meta = nb["metadata"]
    if meta.get("accelerator") != METADATA["accelerator"] or meta.get("colab", {}).get("gpuType") != "T4":
        out.append(f"{notebook}: no Colab GPU metadata (accelerator GPU, colab.gpuType T4)")
    ids = [c.get("id") for c in nb["cells"]]
    if None in ids or len(set(ids)) != len(ids):
        out.append(f"{notebook}: a cell without an id, or two cells with one id (nbformat 4.5)")
    return out


def _give_ids(nb: dict) -> None:
    """An id for every cell without one, or whose id an earlier cell holds: 8 hex digits of its position and
    source, unique in the notebook."""
    taken = {c["id"] for c in nb["cells"] if "id" in c}
    seen = set()
    for i, c in enumerate(nb["cells"]):
        if "id" in c and c["id"] not in seen:
            seen.add(c["id"])
            continue
        salt = 0
        while (new := hashlib.sha1(f"{i}:{salt}:{''.join(c['source'])}".encode()).hexdigest()[:8]) in taken:
            salt += 1
        c["id"] = new
        taken.add(new)


def write(notebook) -> bool:
    """Rewrite a notebook's install block and Colab metadata, and give every cell an id; returns whether the file
    changed."""
    path = Path(notebook)
    raw, nb = _text(path), _read(path)
    cell = _install_cell(nb, path)
    rest = _split("".join(cell["source"]))[1]
    cell["source"] = (install_block(extras_for(path)) + rest).splitlines(keepends=True)
    nb["metadata"]["accelerator"] = METADATA["accelerator"]
    nb["metadata"]["colab"] = {**nb["metadata"].get("colab", {"provenance": []}), **METADATA["colab"]}
    _give_ids(nb)
    text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"   # nbformat's layout
    if text != raw:
        with atomic_path(path) as tmp:        # a signal or a full disk leaves the notebook as it was
            tmp.write_text(text, encoding="utf-8")
    return text != raw


def _read(notebook) -> dict:
    """A notebook's JSON; a missing file, or one that is no notebook (not JSON, not a JSON object with cells and
    metadata), is one line."""
    try:
        nb = json.loads(_text(notebook))
    except json.JSONDecodeError as e:
        raise I2VError(f"{notebook} is not a notebook: not JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list) or not isinstance(nb.get("metadata"), dict):
        raise I2VError(f"{notebook} is not a notebook: a notebook is a JSON object with cells and metadata")
    return nb


def _text(notebook) -> str:
    path = Path(notebook)
    if not path.is_file():
        raise I2VError(f"no such notebook: {notebook}")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise I2VError(f"cannot read {notebook}: {e.strerror if isinstance(e, OSError) else 'not UTF-8 text'}") \
            from None


@command_line("colab")
def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m i2vlib.colab", description=__doc__.splitlines()[0])
    p.add_argument("notebooks", nargs="+", help="notebook files")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook differs")
    args = p.parse_args(argv)
    if args.check:
        found = [line for nb in args.notebooks for line in problems(nb)]
        print("\n".join(found) or "every notebook installs " + requirement())
        return 1 if found else 0
    for nb in args.notebooks:
        print(("rewrote " if write(nb) else "unchanged ") + str(nb))
    return 0


if __name__ == "__main__":
    sys.exit(main())
