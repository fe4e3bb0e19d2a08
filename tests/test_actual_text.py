"""Code copied from the handout with poppler keeps its indentation (the parts' /ActualText)."""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pikepdf
import pytest

from report.actual_text import spell_out_code_lines
from report.handout import drawn_indentation

CODE = '''def relu(z):
    """整流：负数变成 0。"""
    if z > 0:
        return z  # 正数原样通过
    return 0.0
'''
HIGHLIGHTED = ('<div class="highlight"><pre><span></span><code><span class="k">def</span> <span class="nf">relu</span>(z):\n'
               '    <span class="sd">"""整流：负数变成 0。"""</span>\n'
               '    <span class="k">if</span> z <span class="o">&gt;</span> <span class="mi">0</span>:\n'
               '        <span class="k">return</span> z  <span class="c1"># 正数原样通过</span>\n'
               '    <span class="k">return</span> <span class="mf">0.0</span>\n</code></pre></div>')
PAGE = ('<html lang="zh-CN"><style>@page { size: A5; } pre { font-family: "DejaVu Sans Mono", "Noto Sans CJK SC"; }'
        '</style><p>正文：见下面的代码。</p>%s</html>')


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory) -> tuple[Path, Path]:
    """A tagged WeasyPrint page with a highlighted listing, as WeasyPrint writes it and spelled out."""
    from weasyprint import HTML

    tmp = tmp_path_factory.mktemp("code")
    raw = HTML(string=PAGE % drawn_indentation(HIGHLIGHTED)).write_pdf(pdf_tags=True)
    (tmp / "raw.pdf").write_bytes(raw)
    with pikepdf.open(io.BytesIO(raw)) as pdf:
        assert spell_out_code_lines(pdf) > 0
        pdf.save(tmp / "spelled.pdf")
    return tmp / "raw.pdf", tmp / "spelled.pdf"


def pdftotext(path: Path, *options: str) -> str:
    return subprocess.run(["pdftotext", *options, str(path), "-"], capture_output=True, text=True, check=True).stdout


def code_in(text: str) -> str:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("def relu"))
    return "\n".join(lines[start:start + len(CODE.splitlines())]) + "\n"


def test_plain_pdftotext_drops_the_indentation_weasyprint_draws(pdfs):
    """Why the module exists: without ActualText poppler rebuilds spaces from gaps."""
    assert code_in(pdftotext(pdfs[0])) != CODE


def test_plain_pdftotext_copies_the_code_as_it_was_written_and_it_compiles(pdfs):
    code = code_in(pdftotext(pdfs[1]))
    assert code == CODE
    compile(code, "relu.py", "exec")


def test_the_layout_mode_and_pypdf_copy_it_too_and_the_prose_is_unchanged(pdfs):
    from pypdf import PdfReader

    raw, spelled = (PdfReader(path).pages[0].extract_text() for path in pdfs)
    assert raw == spelled, "pypdf kept the spaces already"
    assert code_in(pdftotext(pdfs[1], "-layout")) == CODE  # without ActualText it indents a CJK line by 3
    assert pdftotext(pdfs[0]).splitlines()[0] == pdftotext(pdfs[1]).splitlines()[0] == "正文：见下面的代码。"
    subprocess.run(["qpdf", "--check", str(pdfs[1])], check=True, capture_output=True)


def test_the_structure_still_reaches_every_sequence(pdfs):
    from report.book_tags import content_mcids, marked_content

    with pikepdf.open(pdfs[1]) as pdf:
        reached = {mcid for _, _, mcid in marked_content(pdf.Root.StructTreeRoot)}
        assert content_mcids(pdf.pages[0]) <= reached | {None}
