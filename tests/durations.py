"""A pytest plugin that writes every test's wall and CPU seconds to a JSON file: ``--durations-json PATH``
(tests/conftest.py loads it; ``make test`` writes ``_build/test_durations.json``).

Each test's seconds are its setup, call and teardown added up, so that a module fixture's work is charged to the
first test that asks for it, as ``--durations`` does. Its CPU seconds are those of the process that ran it and of
the subprocesses it waited for (a CLI call, the book build and its notebook kernels): on cores shared with other
work the wall seconds stretch with the load, the CPU seconds much less, so they compare two runs at different loads.
With pytest-xdist each worker measures its tests and the controller writes the file; it records the machine's load
average at the start and the end of the run too."""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

CPU = pytest.StashKey[dict]()
GROUP = re.compile(r"@[^@\[\]]*$")    # the xdist group that a worker appends to a node id (tests/conftest.py)


def pytest_addoption(parser):
    parser.addoption("--durations-json", metavar="PATH", default=None,
                     help="write each test's wall and CPU seconds, outcome and worker to PATH")


def _cpu() -> float:
    """CPU seconds of this process and of the children it has waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed(item, when: str):
    start = _cpu()
    yield
    item.stash.setdefault(CPU, {})[when] = _cpu() - start


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield from _timed(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield from _timed(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    yield from _timed(item, "teardown")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    cpu = item.stash.get(CPU, {}).get(call.when)
    if cpu is not None:   # a list of the report's own: item.user_properties is shared by the three phases
        report.user_properties = [*report.user_properties, ("cpu_seconds", round(cpu, 3))]


class DurationsJSON:
    def __init__(self, path: Path, workers: int):
        self.path, self.workers = path, workers
        self.tests: dict[str, dict] = defaultdict(lambda: {"seconds": 0.0, "cpu_seconds": 0.0, "outcome": "passed",
                                                           "phases": {}})
        self.start, self.load_start = time.time(), os.getloadavg()

    def pytest_runtest_logreport(self, report):
        test = self.tests[GROUP.sub("", report.nodeid)]
        test["seconds"] += report.duration
        test["cpu_seconds"] += dict(report.user_properties).get("cpu_seconds", 0.0)
        test["phases"][report.when] = round(report.duration, 3)
        if report.failed:
            test["outcome"] = "failed" if report.when == "call" else "error"
        elif report.skipped and test["outcome"] == "passed":
            test["outcome"] = "skipped"
        node = getattr(report, "node", None)
        test["worker"] = getattr(node, "gateway", None).id if node is not None else "main"

    def pytest_sessionfinish(self, session):
        wall = time.time() - self.start
        tests = sorted(self.tests.items(), key=lambda kv: -kv[1]["seconds"])
        counts: dict[str, int] = defaultdict(int)
        modules: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        workers: dict[str, float] = defaultdict(float)
        for nodeid, t in tests:
            counts[t["outcome"]] += 1
            modules[nodeid.split("::")[0]][0] += t["seconds"]
            modules[nodeid.split("::")[0]][1] += t["cpu_seconds"]
            workers[t["worker"]] += t["seconds"]
        doc = {
            "benchmark": "test_durations",
            "python": platform.python_version(), "cpu": platform.machine(), "cores": os.cpu_count(),
            "argv": sys.argv[1:], "workers": self.workers,
            "load_average_start": [round(x, 2) for x in self.load_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
            "wall_seconds": round(wall, 1),
            "test_seconds_total": round(sum(t["seconds"] for _, t in tests), 1),
            "test_cpu_seconds_total": round(sum(t["cpu_seconds"] for _, t in tests), 1),
            "test_seconds_per_worker": {w: round(s, 1) for w, s in sorted(workers.items())},
            "counts": dict(counts),
            "modules": {m: {"seconds": round(s, 1), "cpu_seconds": round(c, 1)}
                        for m, (s, c) in sorted(modules.items(), key=lambda kv: -kv[1][0])},
            "tests": {nodeid: {**t, "seconds": round(t["seconds"], 3), "cpu_seconds": round(t["cpu_seconds"], 3)}
                      for nodeid, t in tests},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(doc, indent=1) + "\n")


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    path = config.getoption("durations_json")
    if path and not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        workers = getattr(config.option, "numprocesses", None) or 0
        config.pluginmanager.register(DurationsJSON(Path(path).resolve(), workers), "durations-json")
