"""Cache behaviour, failure isolation and the swap of the output folder."""
from __future__ import annotations

import hashlib
from pathlib import Path

from conftest import statuses


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_second_build_runs_nothing(project):
    project.simple("alpha", 1)
    project.simple("beta", 2)
    assert set(statuses(project.build()).values()) == {"ran"}
    assert set(statuses(project.build()).values()) == {"cached"}


def test_editing_an_imported_helper_reruns_its_users_only(project):
    project.simple("alpha", 1)
    project.experiment("beta", '''
        from report.model import Result
        TITLE = "独立"
        ORDER = 2
        def run(ctx):
            return Result(metrics={"value": 2})
    ''')
    project.template("beta", "<p>{{ m.value }}</p>")
    project.build()
    (project.root / "experiments" / "helper.py").write_text("VALUE = 7\n")
    report = project.build()
    assert statuses(report) == {"alpha": "ran", "beta": "cached"}
    assert "数值 7" in (project.root / "site" / "index.html").read_text(encoding="utf-8")


def test_the_runner_knows_before_running_whether_anything_will_run(project):
    """What decides whether the PDF processes are started while the experiments run."""
    from report.cache import ResultCache
    from report.discover import discover
    from report.fonts import find_cjk_font
    from report.progress import Progress
    from report.runner import Runner, RunSettings

    def must_run(**settings) -> bool:
        runner = Runner(ResultCache(project.root / ".cache" / "results"), find_cjk_font(),
                        RunSettings(root=project.root, **settings), Progress(quiet=True))
        return runner.must_run(discover(project.root / "experiments"))

    project.simple("alpha", 1)
    project.simple("beta", 2)
    assert must_run()
    project.build()
    assert not must_run() and must_run(force=True) and must_run(quick=True)
    (project.root / "experiments" / "helper.py").write_text("VALUE = 7\n")
    assert must_run()


def test_editing_a_template_reruns_nothing_but_changes_the_page(project):
    project.simple("alpha", 1)
    project.build()
    project.template("alpha", "<p>新的文字 {{ m.value }}</p>")
    report = project.build()
    assert statuses(report) == {"alpha": "cached"}
    assert "新的文字 1" in (project.root / "site" / "index.html").read_text(encoding="utf-8")


def test_quick_mode_has_its_own_cache_entry(project):
    project.simple("alpha", 1)
    project.build()
    assert statuses(project.build(quick=True)) == {"alpha": "ran"}
    assert statuses(project.build()) == {"alpha": "cached"}


def test_a_raising_experiment_is_named_and_the_old_site_survives(project):
    project.simple("alpha", 1)
    project.build()
    site = project.root / "site"
    before = tree_digest(site)
    project.experiment("broken", '''
        TITLE = "坏的"
        ORDER = 2
        def run(ctx):
            raise RuntimeError("boom in broken")
    ''')
    project.template("broken", "<p>x</p>")
    (project.root / "experiments" / "helper.py").write_text("VALUE = 3\n")
    report = project.build()
    assert statuses(report) == {"alpha": "ran", "broken": "failed"}
    [failure] = report.failures
    assert "boom in broken" in failure.error and "Traceback" in failure.error
    assert tree_digest(site) == before
    assert not list(project.root.glob(".site.*")), "staging folders must be cleaned up"


def test_a_failed_dependency_skips_its_users(project):
    project.experiment("base", '''
        TITLE = "基础"
        ORDER = 1
        def run(ctx):
            raise ValueError("no data")
    ''')
    project.experiment("user", '''
        from report.model import Result
        TITLE = "使用者"
        ORDER = 2
        USES = ("base",)
        def run(ctx):
            return Result()
    ''')
    assert statuses(project.build()) == {"base": "failed", "user": "skipped"}


def test_uses_hands_arrays_to_the_dependent_experiment(project):
    project.experiment("train", '''
        import numpy as np
        from report.model import Result
        TITLE = "训练"
        ORDER = 1
        def run(ctx):
            return Result(arrays={"w": np.arange(3.0)})
    ''')
    project.experiment("inspect", '''
        from report.model import Result
        TITLE = "检查"
        ORDER = 2
        USES = ("train",)
        def run(ctx):
            return Result(metrics={"total": float(ctx.inputs["train"].arrays["w"].sum())})
    ''')
    project.template("train", "")
    project.template("inspect", "<p>和为 {{ m.total }}</p>")
    project.build()
    assert "和为 3.0" in (project.root / "site" / "index.html").read_text(encoding="utf-8")


def test_a_corrupt_cache_entry_is_recomputed(project):
    project.experiment("plot", '''
        import matplotlib.pyplot as plt
        from report.model import Figure, Result
        TITLE = "作图"
        ORDER = 1
        def run(ctx):
            fig, ax = plt.subplots()
            ax.set_title("中文标题")
            return Result(figures=[Figure("f", fig, "标题", "说明")])
    ''')
    project.template("plot", "{{ figure('f') }}")
    project.build()
    [svg] = (project.root / ".cache" / "results").glob("plot-*/f.svg")
    svg.write_bytes(svg.read_bytes()[:100])  # truncated
    assert statuses(project.build()) == {"plot": "ran"}
    assert (project.root / "site" / "figures" / "plot" / "f.svg").stat().st_size > 1000


def test_refuses_to_replace_a_folder_it_did_not_build(project, tmp_path):
    project.simple("alpha", 1)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("keep me")
    import pytest
    from report.pipeline import BuildError

    with pytest.raises(BuildError, match="refusing to replace"):
        project.build(out=precious)
    assert (precious / "thesis.tex").read_text() == "keep me"


def test_only_builds_what_the_section_uses_and_cites(project):
    project.simple("alpha", 1)
    project.simple("beta", 2)
    project.simple("gamma", 3)
    project.template("gamma", "<p>引用 {{ sections.alpha.m.value }}，见{{ sec('beta') }}</p>")
    report = project.build(only=["gamma"])
    assert statuses(report) == {"alpha": "ran", "gamma": "ran"}
    assert "见第 2 节" in (project.root / "site" / "index.html").read_text(encoding="utf-8")


def test_every_figure_opens_full_size_and_phones_load_files_that_exist(project):
    import re

    project.experiment("plot", '''
        import matplotlib.pyplot as plt
        from report.model import Figure, Result
        TITLE = "作图"
        ORDER = 1
        def run(ctx):
            fig, axes = plt.subplots(1, 2, figsize=(6, 2.5))
            for ax in axes:
                ax.plot([0, 1], [1, 0])
                ax.set_title("中文标题")
            return Result(figures=[Figure("f", fig, "标题", "两条下降的直线")])
    ''')
    project.template("plot", "{{ figure('f') }}")
    project.build()
    site = project.root / "site"
    html = (site / "index.html").read_text(encoding="utf-8")
    [link] = re.findall(r'<a class="figure-open" href="([^"]+)">', html)
    [(media, phone, width, height)] = re.findall(
        r'<source media="([^"]+)" srcset="([^"]+)" width="(\d+)" height="(\d+)">', html)
    [img] = re.findall(r'<picture>.*?<img src="([^"]+)" alt="两条下降的直线"', html, re.DOTALL)
    assert link == img == "figures/plot/f.svg" and (site / link).is_file()
    assert phone == "figures/plot/f.phone.svg" and (site / phone).is_file()
    assert int(height) > int(width) and "max-width" in media  # two panels, one above the other
    assert "打开原尺寸图 1" in html.split('class="figure-open"')[1].split("</a>")[0]  # in the link's name
