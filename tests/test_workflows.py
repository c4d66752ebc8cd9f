"""The GitHub workflows: one runs the project's CI entry point on every push and pull request, one builds the
book with the README's command and publishes it to GitHub Pages, and neither trains a model."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def _load(name: str) -> dict:
    flow = yaml.safe_load((WORKFLOWS / name).read_text())
    flow["on"] = flow.pop(True, flow.get("on"))          # YAML 1.1 reads the key `on` as true
    return flow


def _runs(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def _uses(job: dict) -> list[str]:
    return [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]


def test_the_tests_run_on_every_push_and_pull_request_through_the_ci_entry_point():
    flow = _load("tests.yml")
    assert {"push", "pull_request"} <= set(flow["on"])
    (job,) = flow["jobs"].values()
    assert "bash .ci/run" in _runs(job) and "actions/checkout" in _uses(job)
    assert "make test" in (ROOT / ".ci" / "run").read_text() and "make test" in (ROOT / "README.md").read_text()
    assert job["timeout-minutes"] <= 90


def test_the_book_is_built_with_the_readme_command_and_published_to_pages():
    flow = _load("book.yml")
    assert "push" in flow["on"] and flow["permissions"]["pages"] == "write" and flow["permissions"]["id-token"] == "write"
    build, deploy = flow["jobs"]["build"], flow["jobs"]["deploy"]
    assert "make book" in _runs(build) and "make book" in (ROOT / "README.md").read_text()
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build" and "actions/deploy-pages" in _uses(deploy)
    assert deploy["environment"]["name"] == "github-pages"


def test_both_cache_the_virtual_environment_and_neither_trains_a_model():
    for name in ("tests.yml", "book.yml"):
        jobs = _load(name)["jobs"]
        caches = [s for job in jobs.values() for s in job["steps"] if s.get("uses", "").startswith("actions/cache")]
        assert caches and all(c["with"]["path"] == ".venv" for c in caches), name
        commands = " ".join(r for job in jobs.values() for r in _runs(job))
        assert not any(word in commands for word in ("make zoo", "make records", "i2v train", "RETRAIN=1")), name


def test_the_readme_names_the_pages_address_of_the_repository_the_book_names():
    owner, name = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].split("/")[-2:]
    assert f"https://{owner}.github.io/{name}/" in (ROOT / "README.md").read_text()
