"""The protocol id a commit's declaration hashes to on Python 3.12 without :func:`i2vlib.claims.declaration._tokens`,
emulated on this Python: does it equal the id records made on 3.12 carry?

    python benchmarks/protocol_on_python_3_12.py [--commit d45586f] [--expect b0a453c086e4] [--out FILE]

From 3.12 on, tokenize splits an f-string into FSTRING_START, literal FSTRING_MIDDLE parts (an escaped brace ends its
part, as one brace), the replacement fields' own tokens and FSTRING_END (PEP 701). Before ``_tokens`` read each
f-string as one string again, the protocol's code hash joined those parts, so 3.12 gave every protocol another id.
This script takes the commit's ``i2vlib`` (``git archive``), hashes its declaration twice in a process of its own, as
written and with each f-string split the 3.12 way, and prints JSON: both ids, the one expected, and whether they match
(on Python 3.12 or later, the commit's id as written is 3.12's: it prints that one).
A 12-hex-digit match says that the records carrying the expected id were made under the commit's protocol.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import tokenize
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import emit  # noqa: E402

MIDDLE, START, END = "FSTRING_MIDDLE", "FSTRING_START", "FSTRING_END"


def is_f(text: str) -> bool:
    return "f" in re.match(r"[A-Za-z]*", text).group(0).lower()


def expression_end(body: str, i: int) -> int:
    """Where the replacement field's expression from ``body[i]`` ends: at depth 0, a '!' (not '!='), ':', a
    self-documenting '=' or the closing '}'; quoted strings inside it are skipped."""
    depth, j = 0, i
    while j < len(body):
        c = body[j]
        if c in "'\"":
            quote = body[j:j + 3] if body[j:j + 3] in ("'''", '"""') else c
            j = body.index(quote, j + len(quote)) + len(quote)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return j
            depth -= 1
        elif depth == 0 and (c == ":" or (c == "!" and body[j + 1] != "=")):
            return j
        elif depth == 0 and c == "=" and body[j + 1] != "=" and body[j - 1] not in "=!<>" \
                and body[j + 1:].lstrip()[:1] in ("!", ":", "}"):
            return j
        j += 1
    raise ValueError(f"no end to the replacement field in {body!r}")


def literal(body: str, i: int, in_spec: bool):
    """The FSTRING_MIDDLE parts of the literal text from ``body[i]`` up to a field's '{' (or, in a format spec, the
    field's '}'), and the index after them."""
    parts, text = [], ""
    while i < len(body):
        if not in_spec and body[i:i + 2] in ("{{", "}}"):
            parts.append((MIDDLE, text + body[i]))
            text, i = "", i + 2
        elif body[i] == "{" or (in_spec and body[i] == "}"):
            break
        else:
            text, i = text + body[i], i + 1
    return parts + ([(MIDDLE, text)] if text else []), i


def field(body: str, i: int):
    """The tokens of the replacement field that opens at ``body[i]``, and the index after its '}'."""
    j = expression_end(body, i + 1)
    out = [(tokenize.OP, "{"), *tokens(body[i + 1:j].strip())]
    if body[j] == "=":
        out.append((tokenize.OP, "="))
        j += 1 + len(body[j + 1:]) - len(body[j + 1:].lstrip(" "))
    if body[j] == "!":
        out += [(tokenize.OP, "!"), (tokenize.NAME, body[j + 1])]
        j += 2
    if body[j] == ":":
        out.append((tokenize.OP, ":"))
        j += 1
        while body[j] != "}":
            parts, j = literal(body, j, in_spec=True)
            out += parts
            if body[j] == "{":
                inner, j = field(body, j)
                out += inner
    return out + [(tokenize.OP, "}")], j + 1


def fstring(text: str) -> list:
    """An f-string's tokens as Python 3.12 gives them."""
    prefix, quote = re.match(r"([A-Za-z]*)('''|\"\"\"|'|\")", text).groups()
    body, out, i = text[len(prefix) + len(quote):-len(quote)], [(START, prefix + quote)], 0
    while i < len(body):
        parts, i = literal(body, i, in_spec=False)
        out += parts
        if i < len(body):
            inner, i = field(body, i)
            out += inner
    return out + [(END, quote)]


def tokens(source: str) -> list:
    """``(type, string)`` of ``source``'s tokens as Python 3.12 gives them."""
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        out += fstring(tok.string) if tok.type == tokenize.STRING and is_f(tok.string) else [(tok.type, tok.string)]
    return out


def code_312(source: str) -> str:
    """``declaration._code`` of the commit, as Python 3.12's tokens made it."""
    out, previous = [], tokenize.INDENT
    for kind, text in tokens(textwrap.dedent(source)):
        if kind == tokenize.COMMENT or (kind == tokenize.STRING and previous in (
                tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE, tokenize.NL)):
            previous = kind if kind != tokenize.STRING else previous
            continue
        if kind not in (tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE, tokenize.ENDMARKER):
            out.append(text)
        previous = kind
    return " ".join(out)


def ids() -> dict:
    """In the commit's own process: its protocol id as written, and as Python 3.12 hashed it (emulated on an earlier
    Python; on 3.12 or later, the id as written is 3.12's, and the earlier one is not computed)."""
    from i2vlib.claims import declaration

    written = declaration.protocol_id()
    if sys.version_info >= (3, 12):
        return {"id_on_python_3_12": written}
    declaration._code = code_312
    declaration.protocol_id.cache_clear()
    return {"id": written, "id_on_python_3_12": declaration.protocol_id()}


def main() -> None:
    from i2vlib.errors import ArgumentParser

    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--commit", default="d45586f", help="the commit whose declaration to hash (default: protocol "
                                                      "v2 frozen, af1fb5ee159d)")
    p.add_argument("--expect", default="b0a453c086e4", help="the id the records made on Python 3.12 carry")
    p.add_argument("--out", type=Path, help="also write the JSON here")
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)     # the hashing, in the commit's process
    args = p.parse_args()
    if args.inner:
        print(json.dumps(ids()))
        return
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(root), "archive", args.commit, "i2vlib"], capture_output=True)
        if archive.returncode:
            sys.exit(f"protocol_on_python_3_12: error: no commit {args.commit} here: "
                     f"{archive.stderr.decode().strip().splitlines()[-1]}")
        tarfile.open(fileobj=io.BytesIO(archive.stdout)).extractall(tmp, filter="data")
        found = subprocess.run([sys.executable, __file__, "--inner"], capture_output=True, text=True, cwd=tmp,
                               env={**os.environ, "PYTHONPATH": tmp, "PYTHONWARNINGS": "ignore"})
        if found.returncode:
            sys.exit(f"protocol_on_python_3_12: error: {found.stderr.strip().splitlines()[-1]}")
    result = {"commit": args.commit, "python": sys.version.split()[0], **json.loads(found.stdout),
              "expected": args.expect}
    emit({**result, "match": result["id_on_python_3_12"] == args.expect}, args.out)


if __name__ == "__main__":
    main()
