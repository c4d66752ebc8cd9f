"""Where a chapter's model comes from, the command that trains it, and loss-log summaries."""

import shlex

import pytest

from i2vlib import cli, cli_commands, zoo
from i2vlib.config import config_hash
from i2vlib.models import full_config
from i2vlib.io import log_tenth
from i2vlib.records.origin import duration, made_by, provenance, train_command, trained


@pytest.mark.parametrize("name", list(zoo.ENTRIES))
@pytest.mark.parametrize("prof", ["book", "smoke"])
def test_train_command_parses_back_to_the_same_config(name, prof):
    cfg = zoo.recipe(name, prof, seed=3)
    words = shlex.split(train_command(cfg, "runs/x"))
    assert words[:3] == ["i2v", "train", cfg["method"]] and words[-2:] == ["--out", "runs/x"]
    back = cli_commands._train_config(cli._parser().parse_args(words[1:]))
    assert config_hash(full_config(back)) == config_hash(full_config(cfg))


def test_a_recipe_is_the_zoo_entry_in_the_book_profile_only():
    for name in zoo.ENTRIES:
        assert config_hash(zoo.recipe(name)) == config_hash(zoo.entry_config(name))
        assert config_hash(zoo.recipe(name, seed=0)) == config_hash(zoo.entry_config(name))    # the default seed
        assert config_hash(zoo.recipe(name, seed=1)) != config_hash(zoo.entry_config(name))
        smoke = zoo.recipe(name, "smoke")
        assert smoke["profile"] == "smoke" and smoke["expressions"] == zoo.entry_config(name)["expressions"]


def test_provenance_names_the_zoo_file_or_why_the_chapter_trained(tmp_path, monkeypatch):
    shipped = zoo.names()[0]
    t = trained(zoo.path(shipped))
    assert t["zoo"] == shipped and t["steps"] == zoo.record(shipped)["steps"]
    assert f"the zoo's `{shipped}`" in provenance("model", shipped, zoo.path(shipped), zoo.entry_config(shipped))
    assert made_by(t).startswith(f"{t['steps']} steps")
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text('{"step": 6, "seconds": 12.0, "device": "cpu"}')
    smoke = zoo.recipe(shipped, "smoke")
    assert "in the `book` profile the chapter loads" in provenance("model", shipped, run, smoke)
    assert "differs from the zoo's" in provenance("model", shipped, run, zoo.recipe(shipped, "book", seed=5), seed=5)
    monkeypatch.setenv("I2V_RETRAIN", "1")
    assert "I2V_RETRAIN is set" in provenance("model", shipped, run, zoo.entry_config(shipped))
    assert [duration(s) for s in (12, 600, 7200)] == ["12 s", "10 minutes", "2.0 hours"]


def test_log_tenth_averages_the_first_and_last_tenth():
    log = [{"step": i, "d_g": float(i)} for i in range(100)]
    assert log_tenth(log, "d_g") == pytest.approx(94.5) and log_tenth(log, "d_g", last=False) == pytest.approx(4.5)
    assert log_tenth(log, "nonsense") != log_tenth(log, "nonsense")                    # NaN


def test_plot_losses_chooses_its_smoothing_from_the_log_length():
    from i2vlib import render

    for n in (5, 200, 5000):
        fig = render.plot_losses([{"step": i, "d_g": 1.0 + (i % 7)} for i in range(n)], smooth="auto")
        assert fig.axes
