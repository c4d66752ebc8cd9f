"""Set-up files agree with each other: every pyproject requirement is pinned in environment.yml, and every data file
of the library is shipped with it."""

import fnmatch
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0].lower().replace("_", "-")


def test_environment_pins_every_requirement():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in extra if not r.startswith("i2vlib")}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pinned = {_name(p): p for p in pip if "==" in p}
    assert wanted <= set(pinned), sorted(wanted - set(pinned))


def test_no_upper_bounds_on_torch_or_numpy():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        if _name(dep) in ("torch", "numpy"):
            assert "<" not in dep and "==" not in dep, dep


def test_a_chapter_kernel_does_not_build_iri_grammars():
    """A chapter's first ``glue`` imports nbformat and so jsonschema's format checkers; the book's environment keeps
    the jsonschema whose checkers do not import rfc3987-syntax (about 2 s of every kernel; see pyproject.toml)."""
    code = ("import sys\nfrom myst_nb import glue\nglue('steps', 40, display=False)\n"
            "print('rfc3987_syntax' in sys.modules, 'nbformat' in sys.modules)")
    said = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert said[-2:] == ["False", "True"], said


def test_the_venv_of_the_readme_opens_the_quickstart_in_jupyterlab():
    """``make install`` (and so ``make book`` and ``make test``) installs the extra that holds JupyterLab, and the
    README names the command that opens the quickstart with it."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    installed = re.search(r'pip install --quiet -e "\.\[([^\]]+)\]"', (ROOT / "Makefile").read_text()).group(1)
    assert "lab" in installed.split(",") and "jupyterlab" in {_name(r) for r in extras["lab"]}, installed
    readme = (ROOT / "README.md").read_text()
    assert "make install" in readme and ".venv/bin/jupyter lab notebooks/quickstart.ipynb" in readme


def _shipped(relative: Path, patterns: list[str]) -> bool:
    """Whether a package-data glob (``*`` within one folder, as setuptools reads it) names ``relative``."""
    return any(len(p.split("/")) == len(relative.parts)
               and all(fnmatch.fnmatchcase(part, glob) for part, glob in zip(relative.parts, p.split("/")))
               for p in patterns)


def _tracked(*paths: str) -> list[str]:
    """The files git tracks (under ``paths``), or the test skipped outside a git checkout."""
    try:
        listed = subprocess.run(["git", "ls-files", *paths], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return listed.stdout.splitlines()


def test_every_data_file_of_the_library_is_in_its_package_data():
    """A file the library reads that package-data does not name is missing from a wheel, and so from every
    ``pip install`` that is not editable (Colab's): protocol/references.json was, and every gate failed there."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    missing = []
    for name in _tracked("i2vlib"):
        path = ROOT / name
        if path.suffix == ".py" or not path.exists():
            continue
        package = next(p for p in path.parents if (p / "__init__.py").exists())
        key = ".".join(package.relative_to(ROOT).parts)
        if not _shipped(path.relative_to(package), data.get(key, [])):
            missing.append(name)
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"


def _ran(command, **options) -> str:
    """The stdout of ``command``; its stderr in the failure where it fails."""
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, **options)
    assert done.returncode == 0, f"{' '.join(map(str, command))}: {done.stderr[-2000:]}"
    return done.stdout


@pytest.mark.slow
def test_the_wheel_installed_alone_judges_every_claim(tmp_path):
    """The library as a non-editable install has it (Colab's ``pip install ... @ git+...``): a wheel built from the
    tracked files, installed without its dependencies into a folder first on PYTHONPATH (before any site folder, and
    before an editable install's finder, which comes after the path's), prints every claim under the protocol id
    computed here."""
    import shutil
    import sys
    from importlib.metadata import version

    from i2vlib import claims
    from i2vlib.claims import declaration

    tracked = _tracked()
    if int(version("setuptools").split(".")[0]) < 77:
        pytest.skip("the build backend, setuptools>=77, is not installed here")
    source, target = tmp_path / "source", tmp_path / "installed"
    for name in tracked:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    _ran([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w",
          tmp_path / "wheel", source])
    (wheel,) = (tmp_path / "wheel").glob("i2vlib-*.whl")
    _ran([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target, wheel])
    env = {**os.environ, "PYTHONPATH": str(target), "OMP_NUM_THREADS": "1"}
    where = _ran([sys.executable, "-c", "import i2vlib; print(i2vlib.__file__)"], cwd=tmp_path, env=env).strip()
    assert Path(where).is_relative_to(target), where
    said = json.loads(_ran([sys.executable, "-m", "i2vlib.cli", "claims", "--json"], cwd=tmp_path, env=env))
    assert said["protocol"] == declaration.protocol_id()
    assert len(said["claims"]) == sum(len(claims.registry(p)) for p in claims.PAPERS)
