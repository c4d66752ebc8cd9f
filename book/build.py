#!/usr/bin/env python
"""Execute every chapter notebook with papermill, then build the HTML with Jupyter Book.

    python book/build.py [--profile smoke|book|paper] [--out DIR] [--only GLOB] [--jobs N] [--skip-html]

1. The book sources (_config.yml, _toc.yml, book/, notebooks/) are copied to OUT/src, so
   the committed notebooks stay free of outputs.
2. Every notebook named in _toc.yml is executed there with papermill (kernel ``python3`` of
   this interpreter, cwd = the notebook's folder, parameter ``PROFILE``), ``--jobs`` of them at
   a time (default: one per core, each kernel given its share of the cores' threads), the
   chapters that took longest in the previous build into OUT first; each chapter's wall time
   is printed as it finishes and kept in OUT/chapter_seconds.json. A failing cell stops the
   build (after the chapters already running finish) with a message naming the notebook and
   the cell. The kernel sees ``I2V_REPO_ROOT`` (the repository root), so a chapter can find
   shared caches such as ``_build/runs`` from its copied location. In the book profile (unless
   ``I2V_RETRAIN=1``) it also sees ``I2V_NO_TRAIN=1``: every chapter reads the zoo and the records, and one that
   would train a model fails the build, naming the runs (``make book`` trains nothing).
   A notebook of :data:`COMMITTED` (the quickstart) is published with the outputs it is committed with, and not
   executed.
3. What a published page shows of its code (:func:`publish`): no parameters cell, no set-up cell's code, no cell
   that shows nothing; on every page but those whose code teaches (:data:`TEACHING`: the derivations, the
   quickstart), each cell's code hidden behind a toggle (Jupyter Book's ``hide-input``), its outputs shown.
4. ``jupyter-book build OUT/src --path-output OUT -W --keep-going --all`` turns the
   executed sources into HTML under OUT/_build/html (warnings are errors).
"""

from __future__ import annotations

import concurrent.futures
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("_config.yml", "_toc.yml", "book", "notebooks")
IGNORE = shutil.ignore_patterns("_build", ".ipynb_checkpoints", "__pycache__", "build.py")
SUFFIXES = (".ipynb", ".md", ".rst")
# Notebooks published with the outputs they are committed with (nbval checks them), never executed by the build.
COMMITTED = ("notebooks/quickstart.ipynb",)
# Notebooks whose code teaches: it stays visible on their pages (every other page hides its cells' code).
TEACHING = ("notebooks/*/derivation.ipynb", "notebooks/quickstart.ipynb")
COLAB_CELL = '"google.colab" in sys.modules'     # the set-up cell that installs i2vlib on Colab (i2vlib.colab)
HIDDEN = ("hide-input", "remove-input", "remove-cell", "hide-cell")

sys.path.insert(0, str(ROOT))
from i2vlib.config import PROFILES  # noqa: E402  (the profile names)
from i2vlib.errors import ArgumentParser  # noqa: E402  (one line per usage mistake, options in full and once)


class BuildError(Exception):
    """A one-line reason the build stopped."""


def toc_files(toc_path: Path) -> list[str]:
    """Every document of the table of contents, in reading order, as paths without suffix."""
    import yaml

    toc = yaml.safe_load(toc_path.read_text())
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    found.append(str(node[key]))
            for key in ("glob",):
                if key in node:
                    found.extend(sorted(str(p.relative_to(ROOT).with_suffix(""))
                                        for s in SUFFIXES for p in ROOT.glob(node[key] + s)))
            for value in node.values():
                if isinstance(value, list):
                    for item in value:
                        walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def resolve(entry: str) -> Path:
    """The file behind a toc entry (entries may omit the suffix)."""
    candidates = [ROOT / entry] if Path(entry).suffix in SUFFIXES else [ROOT / (entry + s) for s in SUFFIXES]
    for path in candidates:
        if path.is_file():
            return path
    raise BuildError(f"_toc.yml names {entry!r} but no such .ipynb/.md file exists")


def copy_sources(src: Path, keep: set[Path]) -> None:
    """Copy the book sources into ``src``; files in ``keep`` (already executed) stay as they are."""
    if not keep and src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True, exist_ok=True)
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_file():
            shutil.copy2(origin, src / name)
        elif origin.is_dir():
            saved = {p: p.read_bytes() for p in keep if p.exists()}
            shutil.copytree(origin, src / name, ignore=IGNORE, dirs_exist_ok=True)
            for path, data in saved.items():
                path.write_bytes(data)


def check_parameters_cell(nb_path: Path, rel: str) -> None:
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code or "parameters" not in code[0].get("metadata", {}).get("tags", []):
        raise BuildError(f"{rel}: the first code cell must be tagged 'parameters': it holds the chapter's settings, "
                         "and papermill puts the run's PROFILE in a new cell right after it")


def execute(nb_path: Path, rel: str, profile: str) -> None:
    """Run one notebook in place with papermill; a failing cell becomes a BuildError."""
    import papermill as pm

    check_parameters_cell(nb_path, rel)
    try:
        # The kernel starts in the notebook's folder (nbclient's resources path), not papermill's cwd=, which
        # changes this whole process's folder while a kernel starts: with chapters run side by side, one chapter's
        # kernel could start in another's folder, or in the repository root once the other had changed back.
        pm.execute_notebook(str(nb_path), str(nb_path), parameters={"PROFILE": profile},
                            kernel_name="python3", progress_bar=False,
                            resources={"metadata": {"path": str(nb_path.parent)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])  # no kernel chatter
    except pm.PapermillExecutionError as err:
        first = next((line for line in err.source.splitlines() if line.strip()), "")
        reason = (err.evalue or "").strip().splitlines()
        raise BuildError(
            f"{rel}: cell {err.cell_index} (In [{err.exec_count}]: {first[:70]!r}) raised "
            f"{err.ename}: {reason[0] if reason else ''}\n  full traceback in {nb_path}") from None
    except Exception as err:  # kernel died, timeout, missing kernel ...
        raise BuildError(f"{rel}: execution failed: {type(err).__name__}: {err}".splitlines()[0]) from None
    publish(nb_path, rel)


def timed_execute(nb_path: Path, rel: str, profile: str) -> float:
    """``execute``, timed: its wall time in seconds."""
    start = time.perf_counter()
    execute(nb_path, rel, profile)
    return time.perf_counter() - start


def execute_all(src: Path, selected: list[str], profile: str, jobs: int, seconds_file: Path) -> None:
    """Execute the notebooks ``jobs`` at a time, the longest of the previous build first (a fresh
    build: in reading order); the first failure stops the rest and becomes the build's error."""
    try:
        before = json.loads(seconds_file.read_text())
    except (OSError, ValueError):
        before = {}
    before = before if isinstance(before, dict) else {}
    order = sorted(selected, key=lambda rel: -float(before.get(rel, float("inf"))))
    seconds = dict(before)
    # Threads suffice: each notebook runs in its own kernel process, a thread only relays its messages.
    pool = concurrent.futures.ThreadPoolExecutor(jobs)
    try:
        pending = {pool.submit(timed_execute, src / rel, rel, profile): rel for rel in order}
        for done in concurrent.futures.as_completed(pending):
            rel = pending[done]
            seconds[rel] = round(done.result(), 1)      # a BuildError propagates from here
            print(f"  {rel} {seconds[rel]:7.1f} s", flush=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        seconds_file.parent.mkdir(parents=True, exist_ok=True)
        seconds_file.write_text(json.dumps(seconds, indent=1, sort_keys=True) + "\n")


def _shows_something(cell) -> bool:
    """Whether a code cell has an output a reader would see (a glued value, stored for pasting, is not one)."""
    return any("scrapbook" not in o.get("metadata", {}) for o in cell.get("outputs", []))


def publish(nb_path: Path, rel: str) -> None:
    """Tag an executed notebook's code cells for its published page: the parameters cell, papermill's injected one
    and every cell that shows nothing are removed; the Colab set-up cell's code is removed (its outputs stay); on a
    page whose code does not teach (not :data:`TEACHING`), every other cell's code is hidden behind a toggle."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    teaching = any(fnmatch.fnmatch(rel, pattern) for pattern in TEACHING)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code):
        tags = list(cell.get("metadata", {}).get("tags", []))
        if any(t in tags for t in HIDDEN):
            continue
        if i == 0 or "parameters" in tags or "injected-parameters" in tags:
            tags.append("remove-cell")
        elif COLAB_CELL in cell.source:
            tags.append("remove-input" if _shows_something(cell) else "remove-cell")
        elif not teaching:
            tags.append("hide-input" if _shows_something(cell) else "remove-cell")
        if tags:
            cell.metadata["tags"] = tags
    nbformat.write(nb, nb_path)


def build_html(src: Path, out: Path) -> Path:
    jb = Path(sys.executable).with_name("jupyter-book")
    if not jb.exists():
        raise BuildError(f"jupyter-book is not installed next to {sys.executable} (pip install -e '.[book]')")
    cmd = [str(jb), "build", str(src), "--path-output", str(out), "-W", "--keep-going", "--all", "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stdout + proc.stderr, file=sys.stderr)
        raise BuildError("jupyter-book build failed (warnings are errors): see the messages above")
    return out / "_build" / "html" / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description="Execute the chapter notebooks and build the i2v book.")
    parser.add_argument("--profile", default="book", help="smoke | book | paper (default: book)")
    parser.add_argument("--out", default=str(ROOT / "_build"), help="output folder (default: _build)")
    parser.add_argument("--only", metavar="NOTEBOOK_GLOB",
                        help="execute only the toc notebooks matching this glob (others keep earlier outputs)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="notebooks executed at a time (default: the number of cores)")
    parser.add_argument("--skip-html", action="store_true", help="execute the notebooks, skip jupyter-book")
    args = parser.parse_args(argv)

    try:
        if args.profile not in PROFILES:
            raise BuildError(f"unknown profile {args.profile!r}; choose one of {', '.join(PROFILES)}")
        out = Path(args.out).resolve()
        src = out / "src"
        notebooks = [p for p in map(resolve, toc_files(ROOT / "_toc.yml")) if p.suffix == ".ipynb"]
        rels = [p.relative_to(ROOT).as_posix() for p in notebooks if p.relative_to(ROOT).as_posix() not in COMMITTED]
        selected = [r for r in rels if not args.only or fnmatch.fnmatch(r, args.only)]
        if args.only and not selected:
            raise BuildError(f"--only {args.only!r} matches none of: {', '.join(rels)}")
        if args.jobs < 1:
            raise BuildError(f"--jobs must be at least 1, not {args.jobs}")
        jobs = min(args.jobs, len(selected)) or 1
        # Each kernel gets its share of the cores: more torch threads than cores slow every chapter down.
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // jobs)))

        # Make the kernel this interpreter's: prefer the environment's kernelspec over a user one.
        os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        os.environ.setdefault("I2V_REPO_ROOT", str(ROOT))   # where the run cache lives (another folder: a test's own)
        if args.profile == "book" and os.environ.get("I2V_RETRAIN", "") in ("", "0"):
            os.environ["I2V_NO_TRAIN"] = "1"    # the book profile reads the zoo and the records: a chapter that
            #                                     would train stops the build, naming its runs

        keep = {src / r for r in rels if r not in selected}
        copy_sources(src, keep)
        print(f"book sources copied to {src}; executing {len(selected)} notebook(s), {jobs} at a time, "
              f"profile {args.profile!r}", flush=True)
        total = time.perf_counter()
        execute_all(src, selected, args.profile, jobs, out / "chapter_seconds.json")
        print(f"notebooks executed in {time.perf_counter() - total:.1f} s", flush=True)

        if not args.skip_html:
            start = time.perf_counter()
            index = build_html(src, out)
            print(f"HTML built in {time.perf_counter() - start:.1f} s; total {time.perf_counter() - total:.1f} s")
            print(f"open the book: file://{index}")
    except BuildError as err:
        print(f"build.py: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
