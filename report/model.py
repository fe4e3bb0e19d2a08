"""The contract between experiments and the renderer; both sides import only this.

An experiment module in ``experiments/`` exposes::

    TITLE = "激活函数详解"        # heading shown to readers
    ORDER = 2                     # 2 -> section 2; (7, 1) -> subsection 7.1
    USES = ()                     # optional: experiments whose Result arrives in ctx.inputs
    def run(ctx: Context) -> Result: ...

Experiments do no file I/O and never call ``savefig``: the runner exports each
``Figure.figure`` to SVG right after ``run()`` and replaces it by ``Figure.path``,
so only plain data crosses process and cache boundaries.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Mapping

Number = int | float


@dataclass(frozen=True)
class Context:
    """What an experiment may depend on besides its own source."""

    seed: int = 42
    quick: bool = False
    inputs: Mapping[str, "Result"] = field(default_factory=dict)


@dataclass
class Figure:
    name: str
    figure: Any  # a matplotlib Figure inside the worker; None once exported
    caption: str
    alt: str
    path: str = ""  # file name of the exported SVG, set by the runner
    size: tuple[int, int] | None = None  # its width and height in CSS pixels, set with `path`


@dataclass
class Table:
    name: str
    header: list[str]
    rows: list[list[str]]  # already formatted for display
    caption: str


@dataclass
class Listing:
    name: str
    code: str
    caption: str
    language: str = "python"


@dataclass
class Result:
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    metrics: dict[str, Number | str] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    listings: list[Listing] = field(default_factory=list)
    # Plain numeric arrays handed to experiments that name this one in USES
    # (e.g. trained weights); never shown to readers.
    arrays: dict[str, Any] = field(default_factory=dict)


def listing_of(obj: Any, name: str, caption: str) -> Listing:
    """The source of the code that actually ran, so listing and result cannot drift."""
    return Listing(name=name, code=inspect.getsource(obj), caption=caption)


class ResultError(ValueError):
    """An experiment returned something that breaks the contract."""


def validate(result: Any, experiment: str) -> Result:
    """Reject malformed results with a message that names the experiment and the field."""
    if not isinstance(result, Result):
        raise ResultError(f"{experiment}: run() returned {type(result).__name__}, expected Result")
    seen: set[str] = set()
    for kind, items, cls in (("figure", result.figures, Figure), ("table", result.tables, Table),
                             ("listing", result.listings, Listing)):
        for item in items:
            if not isinstance(item, cls):
                raise ResultError(f"{experiment}: {kind}s must be {cls.__name__}, got {type(item).__name__}")
            if not item.name.isidentifier() or item.name in seen:
                raise ResultError(f"{experiment}: {kind} name {item.name!r} is not a unique identifier")
            seen.add(item.name)
    for table in result.tables:
        for row in table.rows:
            if len(row) != len(table.header) or not all(isinstance(c, str) for c in row):
                raise ResultError(f"{experiment}: table {table.name!r} has a row that does not match "
                                  f"its {len(table.header)}-column header or is not all strings: {row!r}")
    for key, value in result.metrics.items():
        if not isinstance(value, (int, float, str)) or isinstance(value, bool):
            raise ResultError(f"{experiment}: metric {key!r} is {type(value).__name__}, expected a number or str")
        if isinstance(value, float) and value != value:
            raise ResultError(f"{experiment}: metric {key!r} is NaN")
    for key, value in result.logs.items():
        if not isinstance(value, str):
            raise ResultError(f"{experiment}: log {key!r} is {type(value).__name__}, expected str")
    return result
