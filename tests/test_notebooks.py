"""The notebooks: one per section, made from the build's own results and sources, runnable outside
the repository, printing the numbers the page quotes."""
from __future__ import annotations

import json
import math
import re
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest

from report.notebooks import MODEL_NAMES, lesson_source, markdown_blocks, notebook_code

REPO = Path(__file__).resolve().parent.parent

EXPERIMENT = '''
from experiments.helper import VALUE
from report.model import Context, Result, Table, listing_of

TITLE = "小节"
ORDER = 1


def square(x):
    return x * x


def run(ctx: Context) -> Result:
    return Result(tables=[Table("t", ["x", "x²"], [["2", str(square(2))]], "平方")],
                  metrics={"value": VALUE, "seed": ctx.seed, "ratio": 1 / 3},
                  listings=[listing_of(square, "square", "平方函数")], logs={"out": "done"})
'''
CHILD = '''
from report.model import Context, Result

TITLE = "子节"
ORDER = (1, 1)
USES = ("first",)


def run(ctx: Context) -> Result:
    return Result(metrics={"twice": 2 * ctx.inputs["first"].metrics["value"]})
'''
TEMPLATE = ('<p>数值 {{ m.value }}，公式 {{ itex(r"a_1 * b") }}：\n{{ tex(r"\\frac{1}{2}") }}\n'
            '见{{ ref("t") }}和{{ sec("first") }}，<code>a_b</code> 与 x_y*z。</p>\n'
            '<h3>小标题</h3>\n<ul>\n<li><strong>要点</strong>一</li>\n<li>要点二</li>\n</ul>\n'
            '{{ listing("square") }}\n{{ table("t") }}\n{{ log("out") }}\n')


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Built once for the module (a build starts worker processes): the tests below only read
    it, except the last one, which rebuilds it."""
    from conftest import FakeProject

    root = tmp_path_factory.mktemp("nb") / "project"
    (root / "templates" / "sections").mkdir(parents=True)
    (root / "experiments").mkdir()
    (root / "experiments" / "__init__.py").write_text("")
    (root / "experiments" / "helper.py").write_text("VALUE = 1\n")
    project = FakeProject(root)
    project.experiment("first", EXPERIMENT)
    project.template("first", TEMPLATE)
    project.experiment("second", CHILD)
    project.template("second", "<p>两倍 {{ m.twice }}</p>\n")
    report = project.build()
    assert not report.failures, [o.error for o in report.failures]
    return project


def cells(path: Path) -> list:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)  # the writer skips the schema check for speed
    return notebook.cells


def test_a_notebook_per_top_level_section_linked_from_its_heading(built):
    site = built.root / "site"
    assert sorted(p.name for p in (site / "notebooks").iterdir()) == ["01-first.ipynb"]
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.count('href="notebooks/01-first.ipynb" download>下载 Notebook</a>') == 1


def test_cells_in_reading_order_with_the_code_that_ran(built):
    nb = cells(built.root / "site" / "notebooks" / "01-first.ipynb")
    sources = [c.source for c in nb]
    assert sources[0].startswith("# 1 小节")
    assert "parameters" in nb[2].metadata.tags and sources[2].startswith("QUICK = False")
    written = [s.split("\n", 1)[0] for s in sources if s.startswith("%%writefile")]
    assert written == ["%%writefile lesson.py", "%%writefile experiments/__init__.py",
                       "%%writefile experiments/helper.py", "%%writefile experiments/first.py",
                       "%%writefile experiments/second.py"]
    code = "\n".join(s for s in sources if s.startswith("%%writefile experiments/first.py"))
    assert code.split("\n", 1)[1] == (built.root / "experiments" / "first.py").read_text().replace(
        "from report.model import", "from lesson import")
    assert not any(re.search(r"^\s*(from|import)\s+report\b", s, re.MULTILINE) for s in sources)
    run = sources.index(next(s for s in sources if "first.run(" in s))
    assert "result = first.run(Context(seed=SEED, quick=QUICK))" in sources[run]
    # prose after the run; the table and the log where the template places them; then the child
    assert sources[run + 1].startswith("数值 1，公式 $a_1 * b$：\n$$\\frac{1}{2}$$")
    assert sources.index('show_table(result, "t", "表 1")') < sources.index('show_log(result, "out")')
    child = sources.index("## 1.1 子节")
    assert 'second_result = second.run(Context(seed=SEED, quick=QUICK, inputs={"first": result}))' \
        in sources[child + 1]
    assert sources[-1] == 'show_metrics({"first": result, "second": second_result})'
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None for c in nb if c.cell_type == "code")


def test_prose_becomes_markdown_escaped_for_it():
    blocks = markdown_blocks('<p>见 <code>a_b</code>，x_y*z 与 $5</p>\n<h3>标题</h3>\n'
                             '<ol>\n<li><strong>一</strong>\n第二行</li>\n<li>二</li>\n</ol>\n'
                             '<p>\ue002a_1\ue003 和\n\ue004x^2\ue005\n</p>', level=2)
    assert blocks == ["见 `a_b`，x\\_y\\*z 与 \\$5", "### 标题", "1. <strong>一</strong>\n   第二行\n2. 二",
                      "$a_1$ 和\n$$x^2$$"]


def test_lesson_holds_the_models_own_definitions_and_the_helpers():
    source = lesson_source()
    namespace: dict = {}
    exec(compile(source, "lesson.py", "exec"), namespace)  # runs without the project
    assert all(name in namespace for name in MODEL_NAMES + ("show_figure", "show_table", "show_metrics"))
    model = (REPO / "report" / "model.py").read_text(encoding="utf-8")
    result_class = model[model.index("@dataclass\nclass Result"):model.index("def listing_of")].strip()
    assert result_class in source
    assert "report" not in re.sub(r"#.*|\"\"\".*?\"\"\"", "", source, flags=re.DOTALL).replace("reported", "")


def test_an_import_from_report_beyond_the_model_is_refused(tmp_path):
    from report.notebooks import NotebookError

    module = tmp_path / "bad.py"
    module.write_text("from report.figures import export_svg\n")
    with pytest.raises(NotebookError, match="bad.py"):
        notebook_code(module)


def test_rebuilt_notebooks_are_byte_identical_and_a_template_edit_runs_nothing(built):
    path = built.root / "site" / "notebooks" / "01-first.ipynb"
    before = path.read_bytes()
    again = built.build()
    assert {o.status for o in again.outcomes} == {"cached"} and path.read_bytes() == before
    built.template("second", "<p>改过的两倍 {{ m.twice }}</p>\n")
    edited = built.build()
    assert {o.status for o in edited.outcomes} == {"cached"}
    assert "改过的两倍 2" in path.read_text(encoding="utf-8")


# --- the real notebooks, executed ---------------------------------------------------------

def execute(notebook: Path, work: Path) -> tuple[dict, float, list[str]]:
    """Run a copy of the notebook in a fresh kernel in `work`, QUICK = True: its printed metrics,
    the seconds it took and the set-up cell's output."""
    from nbclient import NotebookClient

    work.mkdir(parents=True)
    shutil.copy(notebook, work / notebook.name)  # the .ipynb only: no repository around it
    nb = nbformat.read(work / notebook.name, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = "QUICK = True"
    started = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    seconds = time.perf_counter() - started
    tagged = {tag: cell for cell in nb.cells for tag in cell.metadata.get("tags", [])}
    printed = "".join(o.get("text", "") for o in tagged["metrics"].outputs if o.output_type == "stream")
    setup = [o.get("text", "") for o in tagged["setup"].outputs if o.output_type == "stream"]
    return json.loads(printed), seconds, setup


def quick_results() -> dict:
    """The build's own quick results (cached by the quick build)."""
    from report.cache import ResultCache
    from report.discover import discover
    from report.fonts import find_cjk_font
    from report.progress import Progress
    from report.runner import Runner, RunSettings

    runner = Runner(ResultCache(REPO / ".cache" / "results"), find_cjk_font(), RunSettings(quick=True),
                    Progress(quiet=True))
    return {o.experiment.name: o.result.metrics for o in runner.run(discover())}


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0) or a == b
    return a == b


# Measured CPU seconds with QUICK = True: §6 and §5 (Keras) ~12-14, §7 ~9, §4 and §1 ~6, §2 and §3 ~3.
LONGEST_FIRST = ("keras_circles", "layer_activations", "summary", "vanishing", "xor")


@pytest.mark.slow
def test_every_notebook_runs_outside_the_repository_and_prints_the_pages_numbers(quick_site, tmp_path):
    notebooks = sorted((quick_site / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == 7
    assert not tmp_path.is_relative_to(REPO)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2) as pool:  # two kernels at a time; the longest first
        order = sorted(notebooks, key=lambda p: next((i for i, name in enumerate(LONGEST_FIRST) if name in p.name), 9))
        runs = dict(zip(order, pool.map(execute, order, [tmp_path / p.stem for p in order])))
    wall = time.perf_counter() - started
    expected = quick_results()
    times = []
    for notebook, (printed, seconds, setup) in runs.items():
        times.append(f"{notebook.stem} {seconds:.1f} s")
        assert "需要的库都已安装" in "".join(setup)  # nothing was installed
        for written in (tmp_path / notebook.stem / "experiments").glob("*.py"):  # the code is the code that ran
            assert written.read_text(encoding="utf-8") == (REPO / "experiments" / written.name).read_text(
                encoding="utf-8").replace("from report.model import", "from lesson import"), written
        for section, metrics in printed.items():
            wrong = {k: (v, metrics.get(k)) for k, v in expected[section].items() if not same(v, metrics.get(k))}
            assert not wrong and metrics.keys() == expected[section].keys(), (notebook.name, section, wrong)
    print(f"notebook execution: {wall:.1f} s wall for all;", ", ".join(times))


def test_the_handout_list_names_every_notebook_with_the_sites_address(tmp_path):
    from types import SimpleNamespace

    from report.formulas import FormulaRenderer
    from report.render import PageRenderer

    renderer = PageRenderer(FormulaRenderer(tmp_path / "math"))
    sections = [SimpleNamespace(number="1", title="甲", notebook="notebooks/01-a.ipynb"),
                SimpleNamespace(number="2", title="乙", notebook="notebooks/02-b.ipynb")]
    with_url = renderer.page("notebook_list.html", sections=sections, book=SimpleNamespace(url="https://x.io/nn/"))
    assert 'href="https://x.io/nn/notebooks/02-b.ipynb"' in with_url and "甲" in with_url
    without = renderer.page("notebook_list.html", sections=sections, book=SimpleNamespace(url=""))
    assert "<code>notebooks/01-a.ipynb</code>" in without and "href" not in without
    assert renderer.page("notebook_list.html", sections=[], book=SimpleNamespace(url="")).strip() == ""


@pytest.mark.parametrize("site_url, expected", [
    ("https://alice.github.io/nn-course/", "https://colab.research.google.com/github/alice/nn-course/blob/notebooks/"
                                           "notebooks/01-xor.ipynb"),
    ("https://alice.github.io/nn-course", "https://colab.research.google.com/github/alice/nn-course/blob/notebooks/"
                                          "notebooks/01-xor.ipynb"),
    ("https://alice.github.io/", "https://colab.research.google.com/github/alice/alice.github.io/blob/notebooks/"
                                 "notebooks/01-xor.ipynb"),
    ("https://course.example.org/", ""),  # a custom domain: the repository is unknown
    ("", ""),
])
def test_a_colab_link_only_for_a_site_on_github_pages(site_url, expected):
    from report.notebooks import colab_link

    assert colab_link(site_url, "notebooks/01-xor.ipynb") == expected


def test_the_heading_links_to_colab_next_to_the_download(tmp_path):
    from report.formulas import FormulaRenderer
    from report.render import PageRenderer, build_views
    from tests.test_render import two_sections

    renderer = PageRenderer(FormulaRenderer(tmp_path / "math"))
    section = build_views(two_sections())[0]
    section.notebook_link, section.colab_link = "notebooks/01-one.ipynb", "https://colab.research.google.com/x"
    html = renderer.env.from_string('{% from "sections.html" import render_section %}{{ render_section(s) }}').render(s=section)
    assert 'href="notebooks/01-one.ipynb" download>下载 Notebook</a>' in html
    assert '<a href="https://colab.research.google.com/x">在 Colab 中打开</a>' in html
    section.colab_link = ""
    assert "Colab" not in renderer.env.from_string(
        '{% from "sections.html" import render_section %}{{ render_section(s) }}').render(s=section)
