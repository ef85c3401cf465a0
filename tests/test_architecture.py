"""The layout's rules, read from the source's imports (docs/architecture.md explains them).

Every ``import`` and ``from ... import`` in src/palaestra counts, the ones inside functions too: a lazy
import is still a dependency, only a later one.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "palaestra"

# What each top-level part of the package may import of palaestra (itself always included).
# Dependencies point one way: cli -> viewer -> league -> evaluation -> agents -> envs.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "envs": {"errors"},
    "agents": {"envs", "errors"},
    "evaluation": {"agents", "envs", "errors"},
    "league": {"evaluation", "agents", "envs", "errors"},
    "viewer": {"league", "evaluation", "agents", "envs", "errors"},
    "cli": {"viewer", "league", "evaluation", "agents", "envs", "errors"},
}
# Ray is a heavy, optional dependency: the league, and the loaders of RLlib-trained agents.
RAY_ALLOWED = ("palaestra.league", "palaestra.agents.learned.checkpoints", "palaestra.agents.learned.bomber")
MAX_LINES = 500
LONG_ALLOWED = {"palaestra.envs.bomber.core"}  # the numba rules kernel


@dataclass(frozen=True)
class Import:
    importer: str
    target: str
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The palaestra module a dotted name refers to (a module, or the module holding an attribute)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str) -> list[Import]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(module, a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.append(Import(module, sub if sub in MODULES else source, node.lineno))
    return found


ALL_IMPORTS: list[Import] = [imp for m in MODULES for imp in _imports(m)]


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in ALL_IMPORTS:
        if imp.target.split(".")[0] == "palaestra":
            target = _resolve(imp.target)
            if target and target != imp.importer:
                graph[imp.importer].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_rules_see_the_whole_package() -> None:
    # guards against a walker that silently finds nothing
    assert {"palaestra.envs.registration", "palaestra.cli.main", "palaestra.errors"} <= set(MODULES)
    assert len(ALL_IMPORTS) > 300
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_dependencies_point_one_way(part: str) -> None:
    wrong = []
    for imp in ALL_IMPORTS:
        if _part(imp.importer) != part or imp.target.split(".")[0] != "palaestra":
            continue
        target_part = _part(_resolve(imp.target))
        if target_part and target_part != part and target_part not in ALLOWED[part]:
            wrong.append(f"{MODULES[imp.importer].relative_to(SRC)}:{imp.line} imports {imp.target}")
    assert not wrong, f"palaestra.{part} may import only {sorted(ALLOWED[part])}:\n" + "\n".join(wrong)


def test_errors_uses_the_standard_library_only() -> None:
    third_party = [i for i in ALL_IMPORTS if i.importer == "palaestra.errors"
                   and i.target.split(".")[0] not in {"__future__", "importlib"}]
    assert not third_party


def test_no_import_cycles() -> None:
    cycles = _cycles(_graph())
    assert not cycles, "import cycles (lazy imports included):\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_ray_only_in_the_league_and_rllib_agent_loaders() -> None:
    wrong = [f"{MODULES[i.importer].relative_to(SRC)}:{i.line}" for i in ALL_IMPORTS
             if i.target.split(".")[0] == "ray"
             and not any(i.importer == a or i.importer.startswith(a + ".") for a in RAY_ALLOWED)]
    assert not wrong, "ray imported outside league/ and the RLlib agent loaders:\n" + "\n".join(wrong)


def test_modules_fit_in_one_sitting() -> None:
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert set(long) <= LONG_ALLOWED, f"modules over {MAX_LINES} lines: {long}"


def test_no_file_repeats_its_folder_name() -> None:
    repeats = [str(p.relative_to(SRC)) for p in MODULES.values()
               if p.stem != "__init__" and p.stem.startswith(p.parent.name)]
    assert not repeats
