"""Content-hash cache of experiment results: hash what decides the computation, nothing else.

Key = schema version + the experiment's source + the source of every project module it
imports (transitively) + the machinery that exports figures + its parameters + library
versions + the keys of the experiments it USES. Templates and CSS are not in the key.
An entry is a directory written under a temporary name and renamed into place only after
a successful run; every file's SHA-256 is recorded so a truncated entry is detected.
"""
from __future__ import annotations

import ast
import hashlib
import json
import shutil
from dataclasses import asdict
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from report.discover import ROOT, Experiment
from report.figures import phone_variant, print_variant
from report.model import Context, Figure, Listing, Result, Table

SCHEMA_VERSION = "1"
LIBRARIES = ("numpy", "matplotlib", "tensorflow-cpu", "tensorflow", "keras", "scikit-learn")
MACHINERY = ("report/model.py", "report/figures.py", "report/fonts.py", "report/worker.py")
RESULT_FILE = "result.json"


def module_file(dotted: str, roots: tuple[Path, ...]) -> Path | None:
    for root in roots:
        base = root.joinpath(*dotted.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def imported_names(path: Path, root: Path) -> frozenset[str]:
    """What a module imports, parsed once per content: every cache key (and the notebooks) asks again."""
    return _imported_names(path, root, path.read_text(encoding="utf-8"))


@lru_cache(maxsize=256)
def _imported_names(path: Path, root: Path, source: str) -> frozenset[str]:
    tree = ast.parse(source)
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1]) if path.is_relative_to(root) else ""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{parent}.{module}".strip(".")
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)  # `from pkg import submodule`
    return frozenset(names)


def project_sources(path: Path, root: Path = ROOT) -> list[Path]:
    """The module and every project module it imports, transitively, in a stable order."""
    roots = (root, ROOT)
    seen: set[Path] = set()
    stack = [path]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        for name in imported_names(current, root):
            found = module_file(name, roots)
            if found is not None:
                stack.append(found)
    return sorted(seen)


def library_versions() -> dict[str, str]:
    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            pass
    return versions


def cache_key(experiment: Experiment, ctx: Context, font_family: str, dependency_keys: dict[str, str],
              root: Path = ROOT) -> str:
    h = hashlib.sha256()
    files = sorted(set(project_sources(experiment.path, root)) | {ROOT / m for m in MACHINERY})
    parts = {
        "schema": SCHEMA_VERSION,
        "experiment": experiment.name,
        "sources": {_label(p, root): hashlib.sha256(p.read_bytes()).hexdigest() for p in files},
        "params": {"seed": ctx.seed, "quick": ctx.quick},
        "font": font_family,
        "libraries": library_versions(),
        "uses": dependency_keys,
    }
    h.update(json.dumps(parts, sort_keys=True).encode())
    return h.hexdigest()[:24]


def _label(path: Path, root: Path) -> str:
    return str(path.relative_to(root if path.is_relative_to(root) else ROOT))


# --- entries -----------------------------------------------------------------------------

def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_result(result: Result, directory: Path, seconds: float) -> None:
    """Serialise a Result whose figures are already exported into `directory`."""
    names = [name for f in result.figures for name in (f.path, print_variant(f.path), phone_variant(f.path))]
    files = {name: _digest(directory / name) for name in names}
    if result.arrays:
        import numpy as np

        np.savez(directory / "arrays.npz", **result.arrays)
        files["arrays.npz"] = _digest(directory / "arrays.npz")
    data = asdict(Result(figures=[Figure(f.name, None, f.caption, f.alt, f.path, f.size) for f in result.figures],
                         tables=result.tables, metrics=result.metrics, logs=result.logs,
                         listings=result.listings))
    data.pop("arrays")
    payload = {"result": data, "files": files, "seconds": seconds}
    (directory / RESULT_FILE).write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")


class CorruptEntry(Exception):
    pass


def read_result(directory: Path) -> tuple[Result, float]:
    """Load an entry, verifying every file; anything off raises CorruptEntry."""
    try:
        payload = json.loads((directory / RESULT_FILE).read_text(encoding="utf-8"))
        for name, digest in payload["files"].items():
            if _digest(directory / name) != digest:
                raise CorruptEntry(f"{directory.name}/{name} does not match its recorded hash")
        data = payload["result"]
        result = Result(
            figures=[Figure(**f | {"size": tuple(f["size"]) if f["size"] else None}) for f in data["figures"]],
            tables=[Table(**t) for t in data["tables"]],
            metrics=data["metrics"], logs=data["logs"],
            listings=[Listing(**item) for item in data["listings"]],
        )
        if "arrays.npz" in payload["files"]:
            import numpy as np

            with np.load(directory / "arrays.npz") as npz:
                result.arrays = {k: npz[k] for k in npz.files}
        return result, float(payload["seconds"])
    except CorruptEntry:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorruptEntry(f"{directory.name}: {type(exc).__name__}: {exc}") from exc


class ResultCache:
    def __init__(self, root: Path):
        self.root = root

    def entry(self, name: str, key: str) -> Path:
        return self.root / f"{name}-{key}"

    def load(self, name: str, key: str) -> tuple[Result, float] | None:
        """A verified entry, or None; a corrupt entry is deleted so it gets recomputed."""
        directory = self.entry(name, key)
        if not directory.is_dir():
            return None
        try:
            return read_result(directory)
        except CorruptEntry:
            shutil.rmtree(directory, ignore_errors=True)
            return None

    def last_seconds(self, name: str) -> float:
        """How long this experiment took when it last ran (any key), 0 if never: for scheduling."""
        entries = [p for p in self.root.glob(f"{name}-*/{RESULT_FILE}")]
        if not entries:
            return 0.0
        try:
            return float(json.loads(max(entries, key=lambda p: p.stat().st_mtime).read_text())["seconds"])
        except (OSError, ValueError, KeyError):
            return 0.0

    def store(self, name: str, key: str, finished: Path) -> Path:
        """Move a finished worker directory into place (atomic rename on one filesystem)."""
        target = self.entry(name, key)
        if target.exists():
            shutil.rmtree(target)
        finished.rename(target)
        return target
