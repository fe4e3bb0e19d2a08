"""Find the experiment modules without importing them (imports can cost seconds)."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS_DIR = ROOT / "experiments"


@dataclass(frozen=True)
class Experiment:
    name: str  # module name inside experiments/, also the section's anchor and template name
    title: str
    order: tuple[int, ...]  # (2,) is section 2; (7, 1) is subsection 7.1
    uses: tuple[str, ...]
    path: Path

    @property
    def number(self) -> str:
        return ".".join(map(str, self.order))


class DiscoveryError(Exception):
    pass


def _literals(tree: ast.Module) -> dict[str, object]:
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in ("TITLE", "ORDER", "USES"):
                found[name] = ast.literal_eval(node.value)
    return found


def _has_run(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.FunctionDef) and n.name == "run" for n in tree.body)


def read_experiment(path: Path) -> Experiment | None:
    """An Experiment if the module declares TITLE, ORDER and run(); None for helper modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    try:
        lit = _literals(tree)
    except ValueError as exc:
        raise DiscoveryError(f"{path.name}: TITLE, ORDER and USES must be plain literals ({exc})") from None
    if "TITLE" not in lit or "ORDER" not in lit or not _has_run(tree):
        return None
    order = lit["ORDER"] if isinstance(lit["ORDER"], tuple) else (lit["ORDER"],)
    if not order or not all(isinstance(o, int) for o in order):
        raise DiscoveryError(f"{path.name}: ORDER must be an int or a tuple of ints, got {lit['ORDER']!r}")
    return Experiment(name=path.stem, title=str(lit["TITLE"]), order=order,
                      uses=tuple(lit.get("USES", ())), path=path)


def discover(directory: Path = EXPERIMENTS_DIR) -> list[Experiment]:
    """All experiments in reading order; duplicate orders or unknown USES are errors."""
    found = [e for p in sorted(directory.glob("*.py")) if (e := read_experiment(p))]
    found.sort(key=lambda e: e.order)
    names = {e.name for e in found}
    for a, b in zip(found, found[1:]):
        if a.order == b.order:
            raise DiscoveryError(f"{a.name} and {b.name} both declare ORDER {a.number}")
    for e in found:
        for dep in e.uses:
            if dep not in names:
                raise DiscoveryError(f"{e.name}: USES names unknown experiment {dep!r}")
    _check_acyclic(found)
    return found


def _check_acyclic(experiments: list[Experiment]) -> None:
    uses = {e.name: e.uses for e in experiments}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise DiscoveryError("USES forms a cycle: " + " -> ".join(path[path.index(name):] + (name,)))
        if name not in done:
            for dep in uses[name]:
                visit(dep, path + (name,))
            done.add(name)

    for name in uses:
        visit(name, ())


def with_dependencies(selected: list[Experiment], every: list[Experiment],
                      needs: Callable[[Experiment], Iterable[str]] = lambda e: e.uses) -> list[Experiment]:
    """The selected experiments plus everything they need (by default: USE), in reading order."""
    by_name = {e.name: e for e in every}
    wanted: set[str] = set()
    stack = [e.name for e in selected]
    while stack:
        name = stack.pop()
        if name not in wanted:
            wanted.add(name)
            stack.extend(n for n in needs(by_name[name]) if n in by_name)
    return [e for e in every if e.name in wanted]
