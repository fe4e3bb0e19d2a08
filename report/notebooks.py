"""One runnable Jupyter notebook per top-level section: site/notebooks/NN-<name>.ipynb.

A notebook teaches the section with the code that ran for it. It is made from what the build
already has — the rendered prose (PageRenderer.notebook_sections), the Results and the
experiments' source files — so writing it runs nothing: a template edit rewrites the Markdown.
Cells, in reading order: title; set-up (installs what is missing, pins, seeds, CJK font); the
QUICK parameter; `%%writefile` cells holding lesson.py (the types of report/model.py, taken from
its source, and the display helpers of report/lesson_helpers.py) and every experiments/ module
that runs, dependencies first, so imports work unchanged; a run() call per experiment; the prose
with show_figure / show_table / show_log cells where the page places each item; the metrics.
No outputs are stored, and the JSON is byte-identical across builds (sorted keys, cell ids
derived from position and content).
"""
from __future__ import annotations

import ast
import hashlib
import html
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import nbformat
from nbformat import v4

from report.cache import imported_names, module_file
from report.discover import ROOT, Experiment
from report.fonts import PREFERRED_FAMILIES
from report.render import NOTEBOOK_MARK, SectionView, walk
from report.typography import THIN_SPACE, _HAN_LATIN, _LATIN_HAN

NOTEBOOK_DIR = "notebooks"
MODEL_NAMES = ("Context", "Figure", "Table", "Listing", "Result", "listing_of")
HELPERS_FILE = Path(__file__).with_name("lesson_helpers.py")
CJK_FAMILIES = PREFERRED_FAMILIES + ("Noto Sans CJK JP", "Source Han Sans CN", "Heiti SC", "SimHei",
                                     "WenQuanYi Zen Hei", "Arial Unicode MS")
# When the student's machine has no CJK font: a PyPI package that ships Noto Sans CJK SC.
FONT_PACKAGE, FONT_PACKAGE_VERSION, FONT_FILE = "mplfonts", "0.0.11", "NotoSansCJKsc-Regular.otf"
# Libraries a notebook installs when the student's version differs: every third-party module its
# code imports, plus what the set-up cell itself uses. IPython comes with Jupyter.
ALWAYS = ("numpy", "matplotlib")
NOT_PINNED = {"IPython", "experiments", "report", "lesson"}
# Import name -> the distributions that provide it (the first one is what the notebook pins; the
# set-up cell installs tensorflow-cpu on Linux x86-64 as pyproject.toml does). Anything else:
# the distribution has the module's name. (importlib's packages_distributions() takes seconds.)
DISTRIBUTIONS = {"sklearn": ("scikit-learn",), "tensorflow": ("tensorflow", "tensorflow-cpu")}
# Colab opens notebooks from GitHub, not from the Pages site: the Pages workflow
# (.github/workflows/pages.yml) pushes the built notebooks to this branch, at the same paths.
COLAB_BRANCH = "notebooks"
PAGES_URL = re.compile(r"^https://([A-Za-z0-9-]+)\.github\.io(?:/([A-Za-z0-9._-]+))?/?$")
REPORT_IMPORT = re.compile(r"^(\s*)from report\.model import ", re.MULTILINE)
ANY_REPORT_IMPORT = re.compile(r"^\s*(from|import)\s+report\b", re.MULTILINE)


class NotebookError(Exception):
    pass


@dataclass
class Notebook:
    section: SectionView
    file: str  # path inside the site, e.g. notebooks/01-xor.ipynb
    text: str  # the .ipynb JSON


def markdown_cell(source: str) -> nbformat.NotebookNode:
    return nbformat.from_dict({"cell_type": "markdown", "metadata": {}, "source": source})


def code_cell(source: str, tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    """Like nbformat.v4.new_code_cell without its schema check per cell (the tests validate the
    notebooks): 7 notebooks of ~40 cells took a second to check."""
    return nbformat.from_dict({"cell_type": "code", "execution_count": None, "outputs": [], "source": source,
                               "metadata": {"tags": list(tags)} if tags else {}})


def notebook_file(section: SectionView) -> str:
    return f"{NOTEBOOK_DIR}/{int(section.number.split('.')[0]):02d}-{section.name}.ipynb"


def colab_link(site_url: str, file: str) -> str:
    """「在 Colab 中打开」 for a notebook of a site on GitHub Pages (https://<owner>.github.io/<repo>/,
    or a user site https://<owner>.github.io/); "" for any other address, where the repository is unknown."""
    match = PAGES_URL.match(site_url)
    if match is None:
        return ""
    owner, repo = match[1], match[2] or f"{match[1]}.github.io"
    return f"https://colab.research.google.com/github/{owner}/{repo}/blob/{COLAB_BRANCH}/{file}"


def link_notebooks(sections: list[SectionView], site_url: str = "") -> None:
    """Set `section.notebook` (and `section.colab_link` when the site is on GitHub Pages) of every
    top-level section: the page can link the notebooks before they are written."""
    for section in sections:
        section.notebook = section.notebook_link = notebook_file(section)
        section.colab_link = colab_link(site_url, section.notebook)


def write_notebooks(site: Path, sections: list[SectionView], prose: dict[str, str],
                    experiments: dict[str, Experiment], seed: int, root: Path = ROOT,
                    title: str = "", site_url: str = "") -> list[Notebook]:
    """Write one notebook per top-level section into `site`/notebooks and link them (link_notebooks)."""
    notebooks = [Notebook(s, notebook_file(s), make_notebook(s, prose, experiments, seed, root, title))
                 for s in sections]
    (site / NOTEBOOK_DIR).mkdir(parents=True, exist_ok=True)
    for nb in notebooks:
        (site / nb.file).write_text(nb.text, encoding="utf-8")
    link_notebooks(sections, site_url)
    return notebooks


# --- the notebook ------------------------------------------------------------------------

def make_notebook(section: SectionView, prose: dict[str, str], experiments: dict[str, Experiment], seed: int,
                  root: Path = ROOT, title: str = "") -> str:
    own = [s.name for s in walk([section])]
    runs = run_order(own, experiments)
    modules = code_modules([experiments[name].path for name in runs], root)
    cells: list = [
        markdown_cell(f"# {section.number} {section.title}\n\n"
                             f"{'《' + title + '》' if title else '本教程'}第 {section.number} 节的可运行版本：讲解、"
                             "构建本节时运行的全部代码，以及在讲到的地方显示图、表和数字的单元格。从上到下运行，"
                             "得到的数字与网页版相同（`QUICK = True` 时规模变小，数字也就不同）。"),
        code_cell(setup_source(requirements(modules, root), seed), tags=("setup",)),
        code_cell("QUICK = False  # 改成 True：小规模快速运行，几秒钟就能跑完，但数字与网页版不同",
                  tags=("parameters",)),
        markdown_cell("## 本节运行的代码\n\n下面的单元格把构建本节时运行的代码原样写成文件，再由后面的单元格导入："
                             "`lesson.py` 是实验返回的结果类型（`Result` 等）和显示图表用的几个小函数，"
                             "`experiments/` 下是实验本身和它用到的模块，被用到的在前。"),
        code_cell(f"%%writefile lesson.py\n{lesson_source()}"),
        code_cell("%%writefile experiments/__init__.py\n" + _read(root / "experiments" / "__init__.py")),
    ]
    cells += [code_cell(f"%%writefile {_label(path, root)}\n{notebook_code(path)}") for path in modules]
    before = [name for name in runs if name not in own]
    cells.append(markdown_cell(
        "## 运行\n\n" + (f"本节要用第 {'、'.join(experiments[n].number for n in before)} 节的结果，先运行那里的实验；"
                         if before else "") + "实验画的图先不显示，正文讲到时再显示。"))
    cells.append(code_cell(_run_source(before + [section.name], experiments, section.name)))
    cells += _section_cells(section, prose, experiments, section.name)
    cells.append(markdown_cell("## 本节的数字\n\n这次运行得到的全部数字（网页引用的数字都在其中）："))
    cells.append(code_cell(
        "show_metrics({" + ", ".join(f'"{name}": {variable(name, section.name)}' for name in own) + "})",
        tags=("metrics",)))
    for i, cell in enumerate(cells):  # stable ids: from position and content
        cell.id = hashlib.sha256(f"{i}\n{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:16]
    notebook = nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "cells": cells, "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}})
    return v4.writes_json(notebook) + "\n"  # nbformat.writes would validate the schema again


def variable(name: str, section: str) -> str:
    """The section's own result is `result`; any other is `<name>_result`."""
    return "result" if name == section else f"{name}_result"


def _run_source(names: list[str], experiments: dict[str, Experiment], top: str, imports: bool = True) -> str:
    lines = [f"from experiments import {', '.join(names)}", "from lesson import Context, show_figure, show_log, show_metrics, show_table", ""] if imports else []
    for name in names:
        inputs = ", ".join(f'"{d}": {variable(d, top)}' for d in experiments[name].uses)
        ctx = f"Context(seed=SEED, quick=QUICK{', inputs={' + inputs + '}' if inputs else ''})"
        lines.append(f"{variable(name, top)} = {name}.run({ctx})")
    lines.append('plt.close("all")')
    return "\n".join(lines)


def _section_cells(section: SectionView, prose: dict[str, str], experiments: dict[str, Experiment],
                   top: str) -> list:
    cells = []
    if section.name != top:
        cells.append(markdown_cell(f"{'#' * section.level} {section.number} {section.title}"))
        cells.append(code_cell(f"from experiments import {section.name}\n"
                                      + _run_source([section.name], experiments, top, imports=False)))
    cells += prose_cells(prose[section.name], section, variable(section.name, top))
    for child in section.children:
        cells += _section_cells(child, prose, experiments, top)
    return cells


def run_order(names: list[str], experiments: dict[str, Experiment]) -> list[str]:
    """The notebook's experiments and everything they USE, each after what it uses."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name not in order:
            for dep in experiments[name].uses:
                visit(dep)
            order.append(name)
    for name in names:
        visit(name)
    return order


# --- prose: the section template's HTML, rendered for notebooks, as Markdown cells --------

def prose_cells(body: str, section: SectionView, result: str) -> list:
    """Split the prose at each marker: Markdown before it, then the cell for the item."""
    cells, markdown = [], []
    position = 0
    listings = {item.name: item for item in section.result.listings}
    for match in NOTEBOOK_MARK.finditer(body):
        markdown += markdown_blocks(body[position:match.start()], section.level)
        kind, name = match[1], match[2]
        if kind in ("listing", "folded"):
            markdown.append(listing_markdown(listings[name], folded=kind == "folded"))
        elif kind == "exercise":  # each question a cell of its own (report/exercises.py)
            cells += _markdown_cells(markdown)
            markdown = []
        elif kind == "exercise_end":  # under the question, an empty cell for the student's code
            cells += [markdown_cell("\n\n".join(markdown)), code_cell("", tags=("exercise",))]
            markdown = []
        else:
            cells += _markdown_cells(markdown)
            markdown = []
            if kind == "figure":
                cells.append(code_cell(f'show_figure({result}, "{name}", "图 {section.figures[name].number}")'))
            elif kind == "table":
                cells.append(code_cell(f'show_table({result}, "{name}", "表 {section.tables[name].number}")'))
            else:
                cells.append(code_cell(f'show_log({result}, "{name}")'))
        position = match.end()
    markdown += markdown_blocks(body[position:], section.level)
    return cells + _markdown_cells(markdown)


def _markdown_cells(blocks: list[str]) -> list:
    """One cell per heading and what follows it."""
    cells: list[list[str]] = []
    for block in blocks:
        if not cells or block.startswith("#"):
            cells.append([])
        cells[-1].append(block)
    return [markdown_cell("\n\n".join(c)) for c in cells]


def listing_markdown(listing, folded: bool) -> str:
    code = listing.code.rstrip("\n")
    fence = "`" * max(3, _longest_run(code, "`") + 1)
    block = f"{fence}{listing.language}\n{code}\n{fence}"
    caption = _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(listing.caption, quote=False))
    if folded:
        return f"<details><summary>本次构建实际运行的代码：{caption}</summary>\n\n{block}\n\n</details>"
    return f"<strong>{caption}</strong>\n\n{block}"


_BLOCK = re.compile(r"<(p|h[1-6]|ul|ol)>(.*?)</\1>", re.DOTALL)
_ITEM = re.compile(r"<li>(.*?)</li>", re.DOTALL)
_CODE = re.compile(r"<code>(.*?)</code>", re.DOTALL)
_TAG = re.compile(r"(<[^>]*>)")
_MATH = re.compile("\ue002(.*?)\ue003|\ue004(.*?)\ue005", re.DOTALL)
_TOKEN = re.compile("\ue010(\\d+)\ue011")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_$])")
_LINE_START = re.compile(r"^(\s*)([#>+\-]|\d+[.)])(?=\s)", re.MULTILINE)


def markdown_blocks(chunk: str, level: int) -> list[str]:
    """The section templates' HTML (p, h3-h6, ul/ol with li, inline tags) as Markdown blocks.
    Paragraphs and lists become Markdown, inline tags (strong, em, sup) stay HTML, which Jupyter
    renders; <code> becomes a code span, formulas $…$ / $$…$$, and text is escaped for Markdown."""
    blocks = []
    position = 0
    for match in _BLOCK.finditer(chunk):
        blocks.append(_inline(chunk[position:match.start()]))
        tag, inner = match[1], match[2]
        if tag.startswith("h"):
            blocks.append("#" * (int(tag[1]) - 2 + level) + " " + " ".join(_inline(inner).split("\n")))
        elif tag == "p":
            blocks.append(_inline(inner))
        else:
            items = [_inline(item) for item in _ITEM.findall(inner)]
            blocks.append("\n".join(
                (f"{n}. " if tag == "ol" else "- ") + item.replace("\n", "\n" + " " * (3 if tag == "ol" else 2))
                for n, item in enumerate(items, 1)))
        position = match.end()
    blocks.append(_inline(chunk[position:]))
    return [b for b in blocks if b.strip()]


def _inline(text: str) -> str:
    kept: list[str] = []

    def keep(value: str) -> str:
        kept.append(value)
        return f"\ue010{len(kept) - 1}\ue011"

    text = _MATH.sub(lambda m: keep(f"${m[1]}$" if m[1] is not None else f"\n$${m[2]}$$\n"), text)
    text = _CODE.sub(lambda m: keep(_code_span(html.unescape(m[1]))), text)
    parts = _TAG.split(text)
    for i in range(0, len(parts), 2):  # text between tags: escaped, and spaced like the site (图 1 画出)
        text = _MARKDOWN_SPECIAL.sub(r"\\\1", parts[i])
        parts[i] = _LATIN_HAN.sub(rf"\1{THIN_SPACE}\2", _HAN_LATIN.sub(rf"\1{THIN_SPACE}\2", text))
    text = "".join(parts)
    text = _TOKEN.sub(lambda m: kept[int(m[1])], text)
    lines = [line.strip() for line in text.strip().split("\n")]
    return _LINE_START.sub(r"\1\\\2", "\n".join(line for line in lines if line))


def _code_span(code: str) -> str:
    fence = "`" * (_longest_run(code, "`") + 1)
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{fence}{pad}{code}{pad}{fence}"


def _longest_run(text: str, char: str) -> int:
    return max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)


# --- code: lesson.py and the experiments/ modules ----------------------------------------

def lesson_source(model: Path = ROOT / "report" / "model.py", helpers: Path = HELPERS_FILE) -> str:
    """What experiments import from report.model (taken from its source, not retyped), then the
    display helpers. The imports it needs come first, `from __future__` once."""
    source = model.read_text(encoding="utf-8")
    tree = ast.parse(source)
    kept = []
    for node in tree.body:
        named = getattr(node, "name", None) in MODEL_NAMES
        numbers = isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "Number" for t in node.targets)
        imports = isinstance(node, (ast.Import, ast.ImportFrom)) and getattr(node, "module", "") != "__future__"
        if named or numbers or imports:
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            kept.append("\n".join(source.splitlines()[start - 1:node.end_lineno]))
    missing = set(MODEL_NAMES) - {getattr(n, "name", None) for n in tree.body}
    if missing:
        raise NotebookError(f"report/model.py no longer defines {', '.join(sorted(missing))}")
    helper_source = helpers.read_text(encoding="utf-8")
    future = "from __future__ import annotations"
    helper_body = helper_source[helper_source.index(future) + len(future):].strip()
    header = ('"""实验返回的结果类型（取自本项目的 report/model.py），以及在 notebook 里显示图、表和数字的小函数。"""\n'
              "from __future__ import annotations\n")
    return header + "\n" + "\n".join(k for k in kept if k.startswith(("import", "from"))) + "\n\n" + \
        "\n\n\n".join(k for k in kept if not k.startswith(("import", "from"))) + "\n\n\n" + helper_body + "\n"


def notebook_code(path: Path) -> str:
    """A module's source as it ran, with `from report.model import` reading from lesson.py."""
    source = REPORT_IMPORT.sub(r"\1from lesson import ", path.read_text(encoding="utf-8"))
    if ANY_REPORT_IMPORT.search(source):
        raise NotebookError(f"{path.name} imports from report beyond report.model: a notebook cannot run it")
    return source


def code_modules(paths: list[Path], root: Path = ROOT) -> list[Path]:
    """The experiments/ modules these experiments import (transitively) and themselves, in the
    experiments' order, each after the modules it imports."""
    experiments_dir = root / "experiments"
    order: list[Path] = []
    visiting: set[Path] = set()

    def visit(module: Path) -> None:
        if module in order or module in visiting:
            return
        visiting.add(module)
        for name in sorted(imported_names(module, root)):
            found = module_file(name, (root,))
            if found is not None and found.parent == experiments_dir and found.name != "__init__.py":
                visit(found)
        order.append(module)
    for path in paths:
        visit(path)
    return order


def requirements(modules: list[Path], root: Path = ROOT) -> dict[str, str]:
    """Distribution -> the version this build used, for every third-party module imported."""
    names = set(ALWAYS).union(*({n.split(".")[0] for n in imported_names(path, root)} for path in modules))
    names -= NOT_PINNED | set(sys.stdlib_module_names) | {"__future__", ""}
    return {DISTRIBUTIONS.get(name, (name,))[0]: _version(name) for name in sorted(names)}


@lru_cache(maxsize=None)  # reading a distribution's metadata costs ~10 ms; a notebook asks for several
def _version(module: str) -> str:
    for dist in DISTRIBUTIONS.get(module, (module,)):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    raise NotebookError(f"the module {module!r} comes from no installed distribution that "
                        "report/notebooks.py knows: add it to DISTRIBUTIONS")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _label(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


SETUP = '''\
# 准备运行环境：先装上缺少或版本不同的库（版本与生成本教程的那次构建相同），
# 再像构建那样固定随机种子和线程数，并给 matplotlib 设置中文字体。
import importlib.metadata
import os
import platform
import sys

SEED = {seed}  # 构建用的随机种子：每个实验通过 Context(seed=SEED) 拿到它
PINNED = {pins}


def installed_version(name):
    for candidate in ("tensorflow", "tensorflow-cpu") if name == "tensorflow" else (name,):
        try:
            return importlib.metadata.version(candidate)
        except importlib.metadata.PackageNotFoundError:
            pass
    return None


def pip_name(name):
    """Linux x86-64 上装只含 CPU 的 tensorflow-cpu（小得多），与构建相同。"""
    linux_x86 = sys.platform == "linux" and platform.machine() == "x86_64"
    return "tensorflow-cpu" if name == "tensorflow" and linux_x86 else name


missing = " ".join(f"{{pip_name(n)}}=={{v}}" for n, v in PINNED.items() if installed_version(n) != v)
if missing:
    print("安装：", missing)
    %pip install --quiet {{missing}}
    print("安装完成。如果上面提示要重启内核（Restart kernel），请重启后从头运行。")
else:
    print("需要的库都已安装，版本与构建相同。")

# 与构建相同：每个进程只用一个计算线程。线程数不同时浮点数的求和顺序可能不同，数字的末几位就会变。
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                 "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ[variable] = "1"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # TensorFlow 不打印启动信息
os.makedirs("experiments", exist_ok=True)  # 后面的 %%writefile 单元格把本节的代码写进这个文件夹
if "numpy" in sys.modules:
    print("注意：numpy 已经导入过，线程数的设置不再生效。请重启内核，从头运行。")

import random
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import font_manager

random.seed(SEED)
np.random.seed(SEED)  # 实验自己用 np.random.default_rng(种子)；全局的随机数也一并固定
%matplotlib inline

# 中文字体：先找本机已有的；没有就从 PyPI 装 {font_package}（它带有构建所用的 Noto Sans CJK SC，约 85 MB）。
CJK_FAMILIES = {families}
installed = {{font.name for font in font_manager.fontManager.ttflist}}
family = next((name for name in CJK_FAMILIES if name in installed), None)
if family is None:
    print("没有找到中文字体，安装 {font_package}……")
    %pip install --quiet --no-deps {font_package}=={font_version}
    try:
        font_file = next(f for f in importlib.metadata.files("{font_package}") if f.name == "{font_file}")
        font_manager.fontManager.addfont(str(font_file.locate()))
        family = "Noto Sans CJK SC"
    except Exception as error:  # 离线、安装失败……
        print("没能安装中文字体：", error)
if family is None:  # show_figure (lesson.py) then puts the figures' labels in English
    os.environ["LESSON_LABELS"] = "en"
    warnings.filterwarnings("ignore", message=r".*missing from font")
    print("No Chinese font was found or could be installed, so the figures' labels are shown in English "
          "(translated by lesson.py's table ENGLISH). The code, the numbers and the text are not affected. "
          "For the Chinese labels, install Noto Sans CJK SC (Debian/Ubuntu: sudo apt-get install fonts-noto-cjk) "
          "and restart the kernel.")
else:
    os.environ.pop("LESSON_LABELS", None)
    matplotlib.rcParams["font.family"] = [family, "DejaVu Sans"]
    print("图中的中文字体：", family)
matplotlib.rcParams.update({{"axes.unicode_minus": False, "axes.titleweight": "bold", "figure.dpi": 100}})'''


def setup_source(pins: dict[str, str], seed: int) -> str:
    return SETUP.format(seed=seed, pins=repr(pins), families=repr(list(CJK_FAMILIES)),
                        font_package=FONT_PACKAGE, font_version=FONT_PACKAGE_VERSION, font_file=FONT_FILE)
