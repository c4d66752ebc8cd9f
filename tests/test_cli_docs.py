"""The reference page of the `i2v` command (book/reference/cli.md) cannot drift from its parser.

Everything is read at run time from ``i2vlib.cli._parser()``, never from a copied list: an
option added to the code without a line on the page (or a line left on the page for an option
that is gone) fails here. Per subcommand, the page has a section ``## `i2v NAME` ...`` with

- a usage block (the first ``text`` block): ``i2v NAME``, the positional arguments, then every
  option of the parser and no other;
- an options table (``| option | meaning |``): a row for every option, whose text names the
  option's choices (each in backticks) and its default, where it has them;

and every ``--option`` the section mentions exists, and every ``i2v ...`` example on the page
parses with the real parser.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from i2vlib.cli import _parser

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "reference" / "cli.md"
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1, "i2v has one level of subcommands"
    return dict(actions[0].choices)


def _documented(sub: argparse.ArgumentParser) -> list[argparse.Action]:
    """The actions a reader sees: everything but --help and argparse.SUPPRESS-ed (hidden) ones."""
    return [a for a in sub._actions
            if a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)]


def _long(action: argparse.Action) -> str:
    return next((s for s in action.option_strings if s.startswith("--")), action.option_strings[0])


def _all_options(sub: argparse.ArgumentParser) -> set[str]:
    """Every option string the subcommand accepts (hidden ones and --help included)."""
    return {s for a in sub._actions for s in a.option_strings}


SUBCOMMANDS = _subparsers(_parser())


def _sections() -> dict[str, str]:
    """``## `i2v NAME` ...`` sections of the page, by NAME (text up to the next ``## ``)."""
    text = PAGE.read_text()
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    out = {}
    for part in parts:
        m = re.match(r"`i2v ([\w-]+)`", part)
        if m:
            assert m.group(1) not in out, f"two sections for i2v {m.group(1)}"
            out[m.group(1)] = part
    return out


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(r"^```" + lang + r"\n(.*?)^```", text, flags=re.M | re.S)


def _without_code(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def _table(section: str) -> dict[str, str]:
    """The options table: first cell -> whole row, for the rows after ``| option | meaning |``."""
    lines = section.splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(r"\|\s*option\s*\|\s*meaning\s*\|", line)]
    assert len(starts) == 1, "expected one options table (| option | meaning |)"
    rows = {}
    for line in lines[starts[0] + 2:]:
        if not line.startswith("|"):
            break
        first = line.strip("|").split("|")[0].strip()
        rows[first] = line
    return rows


def _usage(section: str, name: str) -> tuple[list[str], list[str]]:
    """(positional words, option strings) of the section's usage block."""
    blocks = _blocks(section, "text")
    assert blocks, "no usage block (```text) in the section"
    tokens = blocks[0].replace("[", " ").replace("]", " ").split()
    assert tokens[:2] == ["i2v", name], f"the usage block starts with {' '.join(tokens[:2])!r}, not 'i2v {name}'"
    rest = tokens[2:]
    first_option = next((i for i, t in enumerate(rest) if t.startswith("-")), len(rest))
    positionals = [t for t in rest[:first_option] if t != "..."]
    return positionals, OPTION.findall(blocks[0])


def test_every_subcommand_has_a_section_and_no_section_is_extra():
    sections = _sections()
    assert sorted(sections) == sorted(SUBCOMMANDS), (
        f"sections of {PAGE.name}: {sorted(sections)}; subcommands of i2v: {sorted(SUBCOMMANDS)}")


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_usage_block_names_the_subcommand_and_exactly_its_options(name):
    sub = SUBCOMMANDS[name]
    section = _sections()[name]
    positionals, options = _usage(section, name)
    wanted = [a for a in _documented(sub) if a.option_strings]
    missing = [_long(a) for a in wanted if not set(a.option_strings) & set(options)]
    assert not missing, f"i2v {name}: the usage block lacks {missing}"
    unknown = sorted(set(options) - _all_options(sub))
    assert not unknown, f"i2v {name}: the usage block names {unknown}, which the parser does not have"
    hidden = sorted(set(options) - {s for a in _documented(sub) for s in a.option_strings})
    assert not hidden, f"i2v {name}: the usage block names hidden options {hidden}"
    n_pos = len([a for a in sub._actions if not a.option_strings])
    assert len(positionals) == n_pos, (
        f"i2v {name}: the usage block has positional arguments {positionals}, the parser takes {n_pos}")


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_options_table_has_a_row_for_every_option_with_its_default(name):
    sub = SUBCOMMANDS[name]
    rows = _table(_sections()[name])
    listed = {opt: row for first, row in rows.items() for opt in OPTION.findall(first)}
    unknown = sorted(set(listed) - _all_options(sub))
    assert not unknown, f"i2v {name}: the options table lists {unknown}, which the parser does not have"
    for action in _documented(sub):
        if not action.option_strings:
            continue
        row = next((listed[s] for s in action.option_strings if s in listed), None)
        assert row is not None, f"i2v {name}: no row in the options table for {_long(action)}"
        text = row.split("|", 2)[2]  # the meaning cell(s)
        missing = [c for c in action.choices or () if not re.search(rf"`{re.escape(str(c))}`", text)]
        assert not missing, f"i2v {name}: the row of {_long(action)} does not name the choices {missing}: {row}"
        default = action.default
        if default in (None, False, [], argparse.SUPPRESS) or action.required:
            continue
        values = default if isinstance(default, (list, tuple)) else [default]
        words = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
        assert "default" in text and all(re.search(rf"(?<![\w.-]){re.escape(w)}(?![\w-])", text) for w in words), (
            f"i2v {name}: the row of {_long(action)} does not give its default {' '.join(words)}: {row}")


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_option_the_section_mentions_exists(name):
    """Prose and tables included (examples are checked by parsing them, below)."""
    sub = SUBCOMMANDS[name]
    mentioned = set(OPTION.findall(_without_code(_sections()[name])))
    unknown = sorted(mentioned - _all_options(sub))
    assert not unknown, f"i2v {name}: the section mentions {unknown}, which i2v {name} does not have"


def _examples() -> list[str]:
    """Every ``i2v ...`` command line of the page's bash blocks (continuation lines joined)."""
    commands = []
    for block in _blocks(PAGE.read_text(), "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "i2v":
                commands.append(words)
    return commands


def test_every_example_parses_with_the_real_parser(capsys):
    examples = _examples()
    used = {words[1] for words in examples if len(words) > 1}
    assert {"synth", "prepare", "train", "generate", "evaluate"} <= used, f"examples only of {sorted(used)}"
    for words in examples:
        try:
            args = _parser().parse_args(words[1:])
        except SystemExit:
            pytest.fail(f"the example `{shlex.join(words)}` does not parse: {capsys.readouterr().err.strip()}")
        assert args.command == words[1]


def _size_rule(name: str) -> str:
    return next(r for first, r in _table(_sections()[name]).items() if "--size" in first)


def _accepted(make, size: int) -> bool:
    from i2vlib.errors import I2VError

    try:
        make(size)
    except I2VError:
        return False
    return True


def test_synth_size_is_described_as_the_benchmark_accepts_it():
    """The smallest frame the page promises for `i2v synth --size` is the benchmark's."""
    from i2vlib.data.synthetic import SyntheticBenchmark

    row = _size_rule("synth")
    m = re.search(r"at least (\d+)", row)
    assert m, f"the --size row of i2v synth does not give the smallest size: {row}"
    least = int(m.group(1))
    assert _accepted(SyntheticBenchmark, least) and not _accepted(SyntheticBenchmark, least - 1), (
        f"the page says i2v synth takes --size of at least {least}; SyntheticBenchmark does not agree")


def test_train_size_is_described_as_the_networks_accept_it():
    """The page's rule for `i2v train --size` is the one the U-Nets (``i2vlib.nn.unet_levels``) and the
    synthetic benchmark enforce, on the benchmark and on a folder (whose frames are resized)."""
    from i2vlib.data.synthetic import SyntheticBenchmark
    from i2vlib.nn import unet_levels

    row = _size_rule("train")
    m = re.search(r"power of two of at least (\d+)", row)
    assert m, f"the --size row of i2v train does not state the rule (a power of two of at least N): {row}"
    least = int(m.group(1))
    on_folder = lambda size: _accepted(unet_levels, size)  # noqa: E731
    on_benchmark = lambda size: on_folder(size) and _accepted(SyntheticBenchmark, size)  # noqa: E731
    sizes = [s for s in (least // 2, least - 1, least, 3 * least // 2, 2 * least, 3 * least, 4 * least) if s > 0]
    for accepts, where in ((on_benchmark, "on the synthetic benchmark"), (on_folder, "with --data PATH")):
        wrong = [s for s in sizes if accepts(s) != (s >= least and s & (s - 1) == 0)]
        assert not wrong, (f"the page says --size is a power of two of at least {least}; {where}, i2v train "
                           f"{'accepts' if accepts(wrong[0]) else 'refuses'} {wrong[0]}")
