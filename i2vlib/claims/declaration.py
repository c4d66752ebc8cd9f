"""The whole experiment as one declaration, and its content hash: the protocol id.

:func:`declaration` gathers, as data, everything a verdict rests on: every table's arms with their roles and full
recipes at every rung of every round (:mod:`i2vlib.protocol.tables`), every claim with its words, rule and
measurement (:mod:`i2vlib.claims`), the gates of each role with their bounds and the references they come from
(:mod:`i2vlib.protocol.gates`, :mod:`i2vlib.protocol.references`), the measures' versions, the Holm families, the rung rule, and the code that turns runs into
measurements and gates (its source, comments and docstrings left out). :func:`protocol_id` is its SHA-256, cut to 12
hex digits: ``i2v claims --json`` prints it, every record stores the id it was made under, and the registry log's
last entry names it (a change to any of the above after records exist needs an entry, with its replay:
``tests/test_protocol.py``).

The records made before this declaration existed (the exploratory round's) carry the named id :data:`V1`: protocol
v1, the registry as it stood on 2026-11-29 before v2 (its rules are replayed by :mod:`i2vlib.claims.log`), which
cannot be rebuilt as one declaration.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import textwrap
import tokenize
from functools import cache

from ..config import config_hash
from ..models import full_config
from ..protocol import gates, references, tables
from ..protocol.measures import MEASURES
from .. import claims as claims_package
from . import RUNG_RULES, PAPERS, evidence, log, measurement, registry, rules, stats
from .rules import ALPHA

V1 = "v1"
# The id a protocol's declaration hashed to on Python 3.12 before _tokens read f-strings as 3.11 does: the records a
# lent H200 made on 2026-11-30 carry it. The declaration of commit d45586f (af1fb5ee159d) hashes to b0a453c086e4 on
# Python 3.12.1, and on 3.11 with 3.12's f-string tokens emulated (benchmarks/protocol_on_python_3_12.py).
PYTHON_312_IDS = {"b0a453c086e4": "af1fb5ee159d"}
# The code that makes measurements, gates and verdicts from runs, beside the declared data: how a claim is measured
# (measurement, evidence), judged (rules, stats, and the families and the rung rule: the package's family, verdicts
# and ladder) and gated (gates).
CODE = (measurement, evidence, rules, stats, gates, claims_package.family, claims_package.verdicts,
        claims_package.ladder)


def _code(source: str) -> str:
    """Source code without its comments, docstrings and blank lines: what it computes, not how it is told."""
    out, previous = [], tokenize.INDENT
    for tok in _tokens(textwrap.dedent(source)):
        if tok.type == tokenize.COMMENT or (tok.type == tokenize.STRING and previous in (
                tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE, tokenize.NL)):
            previous = tok.type if tok.type != tokenize.STRING else previous
            continue
        if tok.type not in (tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE, tokenize.ENDMARKER):
            out.append(tok.string)
        previous = tok.type
    return " ".join(out)


FSTRING_START, FSTRING_END = (getattr(tokenize, name, None) for name in ("FSTRING_START", "FSTRING_END"))


def _tokens(source: str):
    """``source``'s tokens, each f-string one STRING token of its source text, on every Python: from 3.12 on,
    tokenize splits an f-string into FSTRING_START, its parts and FSTRING_END (PEP 701), which made the protocol's id
    depend on the Python that hashed it (the records a lent GPU's Python 3.12 made carried b0a453c086e4 for
    af1fb5ee159d: :data:`PYTHON_312_IDS`)."""
    lines, depth, start = source.splitlines(keepends=True), 0, None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == FSTRING_START:
            depth, start = depth + 1, start if depth else tok.start
        elif depth and tok.type == FSTRING_END:
            depth -= 1
            if not depth:
                (first, column), (last, end) = start, tok.end
                text = ("".join(lines[first - 1:last - 1]) + lines[last - 1][:end])[column:]
                yield tokenize.TokenInfo(tokenize.STRING, text, start, tok.end, tok.line)
        elif not depth:
            yield tok


def recipes() -> dict:
    """``{round: {table: {multiple: {arm: the config hash of its first seed's run}}}}``: every arm's full recipe (its
    other seeds' differ only in the seed)."""
    out = {}
    for name, round_ in tables.ROUNDS.items():
        out[name] = {}
        for table in tables.ARMS:
            out[name][table] = {}
            for multiple, seeds in round_["rungs"]:
                configs = tables.arm_configs(table, "book", seeds=seeds[:1], multiple=multiple, round=name)
                out[name][table][str(multiple)] = {arm: config_hash({**full_config(runs[0]), "seed": 0})
                                                   for arm, runs in configs.items()}
    return out


def declaration() -> dict:
    """The protocol as JSON-ready data (see the module's docstring)."""
    refs = references.recorded()
    return {
        "tables": {t: {"measure": tables.MEASURE[t], "version": MEASURES[tables.MEASURE[t]][0],
                       "arms": {arm: {"method": m, "change": change, "role": tables.ROLES[t][arm],
                                      "predicted": tables.PREDICTED.get(t, {}).get(arm, "")}
                                for arm, (m, change) in tables.ARMS[t].items()},
                       "pooled": {k: list(v) for k, v in tables.POOLED.get(t, {}).items()},
                       "own_budget": tables.OWN_BUDGET.get(t, {})} for t in tables.ARMS},
        "rounds": {name: {"rungs": [[m, list(s)] for m, s in r["rungs"]], "least": r["least"],
                          "changes": r["changes"]} for name, r in tables.ROUNDS.items()},
        "recipes": recipes(),
        "claims": [c.describe() for p in PAPERS for c in registry(p)],
        "gates": {measure: {role: gates.describe(measure, role, refs[measure]) for role in gates.ROLES}
                  for measure in gates.GATES},
        "references": hashlib.sha256(json.dumps(references.encode(refs), sort_keys=True).encode()).hexdigest(),
        "families": "table", "rung_rule": RUNG_RULES["v2"], "alpha": ALPHA,
        "healthy_share": measurement.HEALTHY_SHARE, "floor": measurement.FLOOR,
        "code": {f"{code.__module__}.{code.__name__}" if callable(code) else code.__name__:
                 hashlib.sha256(_code(inspect.getsource(code)).encode()).hexdigest() for code in CODE},
    }


def record_protocols() -> tuple[str, ...]:
    """The protocol ids whose records are records of the current protocol: its own and, going back through the
    registry log, those before each change that touched only how records are judged (``keeps_records``: a gate, a
    rule), up to the first change that touched what a record is; and the id Python 3.12 gave each of them before
    :func:`_tokens` (:data:`PYTHON_312_IDS`)."""
    logged = [c for c in log.CHANGES if c.protocol]
    ids = [protocol_id()]
    for before, change in zip(reversed(logged[:-1]), reversed(logged[1:])):
        if not change.keeps_records:
            break
        ids.append(before.protocol)
    return (*ids, *(alias for alias, protocol in PYTHON_312_IDS.items() if protocol in ids))


@cache
def protocol_id() -> str:
    """The protocol's id: the SHA-256 of :func:`declaration` (canonical JSON), its first 12 hex digits."""
    text = json.dumps(declaration(), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
