"""Fixtures shared by the test modules, and what makes the suite run on several workers (pytest-xdist).

Work that several modules need is made once per run, whatever the number of workers: :func:`made_once` fills a
folder in the run's shared temporary folder (every xdist worker's ``basetemp`` lies in it) while holding a file
lock, and a worker that comes later reads what the first one made. The smoke book (book/build.py in the smoke
profile) and a one-step smoke AffineGAN run are made so.

``make test-fast`` leaves out the tests marked ``slow`` (they build the book, run notebooks, train or measure for
seconds each); ``make test`` runs all of them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from filelock import FileLock

from i2vlib.records.engine import LOCK_ENV

pytest_plugins = ["durations"]       # --durations-json PATH: every test's seconds (tests/durations.py)

ROOT = Path(__file__).resolve().parents[1]


def made_once(tmp_path_factory, name: str, make) -> Path:
    """The folder ``name`` that ``make(folder)`` fills, made once per test run: the first worker to ask makes it
    while holding a lock, the others wait for the lock and reuse the folder (a file beside it says it was made;
    a folder without one, left by a ``make`` that raised, is made again)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, made = shared / name, shared / f"{name}.made"
    with FileLock(str(shared / f"{name}.lock")):
        if not made.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            made.touch()
    return folder


@pytest.fixture(scope="session", autouse=True)
def own_record_lock(tmp_path_factory):
    """Each test worker records under a lock of its own (i2vlib.records.engine.one_local_recording): neither the other
    worker's tests nor a recording that runs on this machine beside the suite refuse a test's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(LOCK_ENV, str(tmp_path_factory.getbasetemp() / "record.lock"))
        yield


@pytest.fixture
def one_thread():
    """One torch thread: CPU kernels may split their sums differently with more, and a recorded
    result is reproduced bit for bit only with the thread count it was recorded with."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _build_smoke_book(out: Path) -> None:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "book" / "build.py"), "--profile", "smoke", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=3600)
    (out / "build.json").write_text(json.dumps({"returncode": proc.returncode, "stdout": proc.stdout,
                                                "stderr": proc.stderr, "seconds": time.perf_counter() - start}))


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory):
    """``book/build.py --profile smoke`` run once per test run (every chapter notebook executed with papermill, the
    HTML built): its folder, with ``build.json`` (the build's return code, output and seconds) in it."""
    return made_once(tmp_path_factory, "book", _build_smoke_book)


def _train_smoke_affinegan(out: Path) -> None:
    from i2vlib.train import train

    train({"method": "affinegan", "profile": "smoke", "steps": 1}, out / "run", progress=False)


@pytest.fixture(scope="session")
def smoke_affinegan_run(tmp_path_factory):
    """A one-step smoke AffineGAN run, trained once per test run: copy it before changing it."""
    return made_once(tmp_path_factory, "affinegan-smoke", _train_smoke_affinegan) / "run"


def _xdist_group(item) -> str | None:
    """The group of tests that must run on one worker with ``item`` (``--dist loadgroup``): a notebook's cells
    (nbval runs them in order in one kernel), the tests that read the smoke book (one worker builds it, the other
    keeps testing meanwhile), and the tests of a module that share a fixture of module or class scope (so that no
    worker makes it again)."""
    if item.path.suffix == ".ipynb":
        return f"nbval:{item.path.name}"
    if "smoke_book" in item.fixturenames:
        return "smoke-book"
    defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    if any(d[-1].scope in ("module", "class", "package") and Path(d[-1].baseid.split("::")[0]).suffix == ".py"
           for d in defs.values() if d):
        return item.nodeid.split("::")[0]
    return None


@pytest.hookimpl(tryfirst=True)   # before xdist's hook, which adds each item's group to its node id
def pytest_collection_modifyitems(config, items):
    for item in items:
        if (group := _xdist_group(item)) is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session):
    """On an xdist worker, name each item's group at the end of its node id (``nodeid@group``), which is how the
    controller's ``loadgroup`` scheduler reads it. xdist (3.8) does so by setting ``item._nodeid``, which pytest 9.2 no
    longer reads (a node id is the ``NodeId`` in ``item._id``): without this, every test would be a group of its
    own and a module's fixture would be made on both workers."""
    if not hasattr(session.config, "workerinput") or not session.config.getoption("loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in session.items:
        groups = sorted({str(m.args[0]) for m in item.iter_markers("xdist_group")})
        if groups and "@" not in item.nodeid and isinstance(getattr(item, "_id", None), NodeId):
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")
