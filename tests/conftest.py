"""Shared fixtures: a tiny throw-away project (experiments + section templates) built with
the real machinery, so pipeline tests run in seconds and never touch the real site."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from report.pipeline import BuildOptions, BuildReport, build
from report.progress import Progress
from report.runner import RunSettings

REPO = Path(__file__).resolve().parent.parent

SIMPLE_EXPERIMENT = '''
from experiments.helper import VALUE
from report.model import Context, Result

TITLE = "{title}"
ORDER = {order}

def run(ctx: Context) -> Result:
    return Result(metrics={{"value": VALUE, "seed": ctx.seed}})
'''


@dataclass
class FakeProject:
    root: Path

    def experiment(self, name: str, source: str) -> Path:
        path = self.root / "experiments" / f"{name}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    def template(self, name: str, text: str) -> Path:
        path = self.root / "templates" / "sections" / f"{name}.html"
        path.write_text(text, encoding="utf-8")
        return path

    def simple(self, name: str, order: int, title: str = "小节") -> None:
        self.experiment(name, SIMPLE_EXPERIMENT.format(title=title, order=order))
        self.template(name, "<p>数值 {{ m.value }}</p>\n")

    def build(self, out: Path | None = None, **settings) -> BuildReport:
        options = BuildOptions(out=out or self.root / "site", cache_dir=self.root / ".cache",
                               pdf=settings.pop("pdf", False), only=settings.pop("only", []),
                               settings=RunSettings(root=self.root, jobs=2, **settings))
        return build(options, Progress(quiet=True))


@pytest.fixture
def project(tmp_path: Path) -> FakeProject:
    root = tmp_path / "project"
    (root / "experiments").mkdir(parents=True)
    (root / "templates" / "sections").mkdir(parents=True)
    (root / "experiments" / "__init__.py").write_text("")
    (root / "experiments" / "helper.py").write_text("VALUE = 1\n")
    return FakeProject(root)


def statuses(report: BuildReport) -> dict[str, str]:
    return {o.experiment.name: o.status for o in report.outcomes}


@pytest.fixture
def cli_project(tmp_path: Path) -> FakeProject:
    """A copy of build.py and the machinery with fixture experiments, to drive the real CLI."""
    root = tmp_path / "cli"
    root.mkdir()
    shutil.copy2(REPO / "build.py", root / "build.py")
    shutil.copytree(REPO / "report", root / "report", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "templates", root / "templates", ignore=shutil.ignore_patterns("sections"))
    (root / "templates" / "sections").mkdir()
    (root / "experiments").mkdir()
    (root / "experiments" / "__init__.py").write_text("")
    (root / "experiments" / "helper.py").write_text("VALUE = 1\n")
    return FakeProject(root)


@pytest.fixture(scope="session")
def quick_site(tmp_path_factory) -> Path:
    """The real tutorial built once with `build.py --quick`, shared by the end-to-end tests."""
    out = tmp_path_factory.mktemp("quick") / "site"
    result = subprocess.run([sys.executable, "build.py", "--quick", "--out", str(out)], cwd=REPO,
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr
    (out.parent / "build.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def cjk_figures() -> None:
    """matplotlib set up as the worker sets it up, for tests that call an experiment's run()."""
    from report.figures import setup_matplotlib
    from report.fonts import find_cjk_font

    setup_matplotlib(find_cjk_font())


def render_section(name: str, result, tmp_path: Path) -> str:
    """One real section template rendered with `result` through the real helpers: a template
    that misplaces an item or quotes a metric the result lacks raises RenderError."""
    from report.discover import discover
    from report.formulas import FormulaRenderer
    from report.render import PageRenderer, build_views
    from report.runner import Outcome

    experiment = next(e for e in discover() if e.name == name)
    sections = build_views([Outcome(experiment, "ran", result=result, directory=tmp_path)])
    PageRenderer(FormulaRenderer(tmp_path / "math")).render_sections(
        sections, {e.name: e.number for e in discover()})
    return str(sections[0].body)
