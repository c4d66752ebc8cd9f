"""The library's imports point one way: down the layers of the book's map (book/reference/map.md).

The map's table is the rule: every ``i2vlib`` module belongs to one layer, and each of its imports (at
the top of the module or inside a function) names a module of its own layer or of a layer below. Since
no import points up, the import graph has no cycle; the test checks that too, and that the few imports
of library modules made inside functions each say why on their line.
"""

from __future__ import annotations

import ast
import re
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "book" / "reference" / "map.md"
MAX_INNER = 25   # imports of i2vlib modules inside functions, at most


def _layers() -> list[tuple[str, list[str]]]:
    """(layer, module patterns) from the map's table, top layer first."""
    rows = []
    for line in MAP.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1].startswith("`i2vlib"):
            rows.append((cells[0], re.findall(r"`([\w.*]+)`", cells[1])))
    return rows


def _modules() -> dict[str, Path]:
    out = {}
    for f in (ROOT / "i2vlib").rglob("*.py"):
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


MODULES = _modules()
LAYERS = _layers()


def _layer_of(module: str) -> int:
    """The height of ``module``'s layer (0 = the bottom): the row naming it, else the row whose ``pkg.*`` covers it."""
    for exact in (True, False):
        for k, (_, patterns) in enumerate(LAYERS):
            if any(module == p if exact else p.endswith(".*") and fnmatch(module, p) for p in patterns):
                return len(LAYERS) - 1 - k
    raise AssertionError(f"{module} is in no layer of {MAP.name}'s table")


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> list[tuple[str, bool, int]]:
    """(imported i2vlib module, inside a function?, line) of every import statement of ``module``."""
    f = MODULES[module]
    tree = ast.parse(f.read_text())
    inner = {id(n) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(fn) if n is not fn}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = module.split(".") if f.name == "__init__.py" else module.split(".")[:-1]
            if node.level:
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in MODULES else mod for a in node.names]
        else:
            continue
        for t in targets:
            r = _resolve(t) if t.startswith("i2vlib") else None
            if r and r != module:
                out.append((r, id(node) in inner, node.lineno))
    return out


def test_the_map_names_every_module_once_and_its_layers_in_order():
    assert [name for name, _ in LAYERS] == ["cli", "render", "studies", "records", "claims", "protocol", "evaluate",
                                            "runs", "train", "models", "instruments", "data", "faces", "base"]
    for module in MODULES:
        _layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_layers(module):
    mine = _layer_of(module)
    up = [f"{target} ({LAYERS[len(LAYERS) - 1 - _layer_of(target)][0]}, line {line})"
          for target, _, line in _imports(module) if _layer_of(target) > mine]
    assert not up, f"{module} ({LAYERS[len(LAYERS) - 1 - mine][0]}) imports from a layer above: {', '.join(up)}"


@pytest.mark.slow
def test_the_import_graph_has_no_cycle():
    edges = {m: {t for t, _, _ in _imports(m)} for m in MODULES}
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for t in edges[m]:
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path[path.index(t):], t]))
            if t not in state:
                visit(t, [*path, t])
        state[m] = 2

    for m in sorted(MODULES):
        if m not in state:
            visit(m, [m])


def test_imports_inside_functions_are_few_and_say_why():
    inner = [(m, t, line) for m in MODULES for t, is_inner, line in _imports(m) if is_inner]
    assert len(inner) <= MAX_INNER
    for module, target, line in inner:
        text = MODULES[module].read_text().splitlines()[line - 1]
        assert "#" in text, f"{module}:{line} imports {target} inside a function without saying why"
