"""The chapters on Colab: one requirement (i2vlib.colab), written into every notebook, that pip can install.

The install block of every notebook is run as Colab would run it, with a stand-in ``google.colab``
module; its pip command is then run for real, as a dry run against this checkout instead of the
repository's release tag (offline: ``--no-index``, the dependencies already installed here).
"""

import ast
import json
import re
import subprocess
import sys
import types
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml

import i2vlib
from i2vlib import colab

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None
Requirement = pytest.importorskip("packaging.requirements").Requirement

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
# What a Colab runtime has before any install (besides the standard library).
ON_COLAB = {"IPython", "google", "scipy", "skimage"}
NOT_ON_COLAB = {"jupyter-book", "papermill", "dlib-bin", "dlib"}   # what the colab extra must not pull in


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _project() -> dict:
    if tomllib is None:
        pytest.skip("reading pyproject.toml needs tomllib (Python 3.11+)")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _extras() -> dict:
    return _project()["optional-dependencies"]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;@]", req, maxsplit=1)[0].lower().replace("_", "-")


def _expand(extras) -> set[str]:
    """The distributions that ``i2vlib[extras]`` asks for, i2vlib's own extras followed."""
    project = _project()
    names, todo, seen = {_name(r) for r in project["dependencies"]}, list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for req in project["optional-dependencies"][extra]:
            if req.startswith("i2vlib["):
                todo += Requirement(req).extras
            else:
                names.add(_name(req))
    return names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_rel)
def test_every_notebook_holds_the_written_install_block_and_colab_gpu_metadata(notebook):
    assert colab.problems(notebook) == [], "run: python -m i2vlib.colab " + _rel(notebook)


def test_the_requirement_is_this_release_from_the_one_repository():
    req = Requirement(colab.requirement())
    assert req.name == "i2vlib" and req.extras == {"colab"}
    assert req.url == f"git+{colab.REPOSITORY}@v{i2vlib.__version__}"
    assert yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"] == colab.REPOSITORY
    elsewhere = [_rel(p) for p in (ROOT / "i2vlib").rglob("*.py") if colab.REPOSITORY in p.read_text()]
    assert elsewhere == ["i2vlib/colab.py"], "the library names the repository in i2vlib/colab.py only"


def test_the_colab_extra_is_light_and_every_installed_extra_exists():
    assert {"matplotlib", "ipywidgets", "tqdm"} <= _expand(["colab"])
    assert not _expand(["colab"]) & NOT_ON_COLAB
    used = {e for extras in [colab.EXTRAS, *colab.NOTEBOOK_EXTRAS.values()] for e in extras}
    assert used <= set(_extras()) and {"lab", "online"} <= set(_extras())
    assert "jupyterlab" in _expand(["lab"]) and "face-alignment" in _expand(["online"])


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_rel)
def test_what_a_notebook_imports_comes_with_its_extras_or_colab(notebook):
    wanted = _expand(colab.extras_for(notebook))
    dists = packages_distributions()
    missing = set()
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        lines = "".join(cell["source"]).splitlines()
        code = "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))   # IPython magics
        for node in ast.walk(ast.parse(code)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for module in (n.split(".")[0] for n in names):
                if module in sys.stdlib_module_names or module in ON_COLAB or module == "i2vlib":
                    continue
                if not {_name(d) for d in dists.get(module, [])} & wanted:
                    missing.add(module)
    assert not missing, f"{_rel(notebook)} imports {sorted(missing)}, which {colab.extras_for(notebook)} do not install"


def _run_block(notebook, monkeypatch, on_colab=True) -> list:
    """Run the install block of ``notebook`` (on a stand-in Colab); returns the commands it ran."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw)))
    if on_colab:
        google = types.ModuleType("google")
        google.colab = types.ModuleType("google.colab")
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", google.colab)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(colab.cell_block(notebook), str(notebook), "exec"), {"__name__": "__main__"})
    return calls


@pytest.mark.slow
def test_the_install_blocks_run_on_colab_and_pip_accepts_them(monkeypatch, tmp_path):
    monkeypatch.delenv(colab.ENV, raising=False)
    commands = {}
    for notebook in NOTEBOOKS:
        assert _run_block(notebook, monkeypatch, on_colab=False) == []       # not on Colab: no install
        [(cmd, kw)] = _run_block(notebook, monkeypatch)
        assert cmd[:5] == [sys.executable, "-m", "pip", "install", "-q"] and len(cmd) == 6 and kw == {"check": True}
        assert cmd[5] == colab.requirement(colab.extras_for(notebook))
        commands[cmd[5]] = cmd
    monkeypatch.undo()
    for i, cmd in enumerate(commands.values()):
        req = Requirement(cmd[5])
        local = f"i2vlib[{','.join(sorted(req.extras))}] @ {ROOT.as_uri()}"     # this checkout, not the tag
        report = tmp_path / f"report-{i}.json"
        done = subprocess.run([*cmd[:5], "--dry-run", "--no-index", "--no-build-isolation", "--report", str(report),
                               local], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "does not provide the extra" not in done.stderr, done.stderr
        [mine] = [p for p in json.loads(report.read_text())["install"] if p["metadata"]["name"] == "i2vlib"]
        assert set(mine["requested_extras"]) == req.extras <= set(mine["metadata"]["provides_extra"])


def test_the_environment_variable_replaces_the_requirement(monkeypatch):
    monkeypatch.setenv(colab.ENV, "i2vlib[colab] @ git+https://example.org/fork@main")
    [(cmd, _)] = _run_block(NOTEBOOKS[0], monkeypatch)
    assert cmd[-1] == "i2vlib[colab] @ git+https://example.org/fork@main"


def test_the_writer_puts_back_a_broken_block(tmp_path):
    nb = tmp_path / "notebooks" / "data" / "data.ipynb"
    nb.parent.mkdir(parents=True)
    text = (ROOT / "notebooks" / "data" / "data.ipynb").read_text()
    nb.write_text(text.replace(colab.requirement(("colab", "faces")), "i2vlib[book] @ git+https://example.org/x"))
    assert colab.problems(nb) and colab.main(["--check", str(nb)]) == 1
    assert colab.write(nb) and colab.problems(nb) == [] and nb.read_text() == text
    assert not colab.write(nb)


def test_the_writer_gives_a_cell_added_without_an_id_one_of_its_own(tmp_path):
    nb = tmp_path / "notebooks" / "data" / "data.ipynb"
    nb.parent.mkdir(parents=True)
    data = json.loads((ROOT / "notebooks" / "data" / "data.ipynb").read_text())
    old = {c["id"] for c in data["cells"]}
    twin = {"cell_type": "markdown", "metadata": {}, "source": ["the same text"]}
    data["cells"] += [dict(twin), dict(twin, id=data["cells"][0]["id"])]   # alike, and one copying an id
    nb.write_text(json.dumps(data))
    assert any("id" in p for p in colab.problems(nb))
    assert colab.write(nb) and colab.problems(nb) == []
    ids = [c["id"] for c in json.loads(nb.read_text())["cells"]]
    assert len(set(ids)) == len(ids) and set(ids[:-2]) == old and not colab.write(nb)
