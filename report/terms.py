"""The tutorial's terminology (templates/terms.toml): the 术语表, and the variants the built text must not use."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from report.discover import ROOT

TERMS_FILE = ROOT / "templates" / "terms.toml"


@dataclass(frozen=True)
class Term:
    zh: str
    en: str
    avoid: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern
    rule: str


@dataclass(frozen=True)
class Terms:
    terms: tuple[Term, ...]
    rules: tuple[Rule, ...]

    def problems(self, text: str) -> list[str]:
        """Every variant or house-style breach in `text`, with a little context around it."""
        found = []
        for term in self.terms:
            for variant in term.avoid:
                found += [f"{variant!r} (use {term.zh!r}): …{_around(text, m)}…" for m in re.finditer(re.escape(variant), text)]
        for rule in self.rules:
            found += [f"{m[0]!r} ({rule.rule}): …{_around(text, m)}…" for m in rule.pattern.finditer(text)]
        return found


def _around(text: str, match: re.Match) -> str:
    return text[max(0, match.start() - 20):match.end() + 20].replace("\n", " ")


def load_terms(root: Path = ROOT) -> Terms:
    """A project's own terms.toml, like its templates, else the tutorial's."""
    path = root / "templates" / "terms.toml"
    data = tomllib.loads((path if path.exists() else TERMS_FILE).read_text(encoding="utf-8"))
    terms = tuple(Term(t["zh"], t["en"], tuple(t.get("avoid", ()))) for t in data["term"])
    rules = tuple(Rule(re.compile(p["regex"]), p["rule"]) for p in data.get("pattern", ()))
    return Terms(terms, rules)


class _Prose(HTMLParser):
    """Text a reader reads as prose: not code, listings, logs, formulas or the glossary itself."""

    SKIP = {"pre", "code", "script", "style", "svg", "math", "template"}

    def __init__(self) -> None:
        super().__init__()
        self.skipping: list[str] = []  # open tags whose content is not prose
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if self.skipping or tag in self.SKIP or {"highlight", "glossary"} & set(classes) or dict(attrs).get("id") == "glossary":
            if tag not in {"img", "br", "hr", "meta", "link", "input", "source"}:
                self.skipping.append(tag)

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def prose_of(html: str) -> str:
    parser = _Prose()
    parser.feed(html)
    return "".join(parser.parts)
