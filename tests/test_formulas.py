import pytest

from report.formulas import FormulaError, FormulaRenderer


def test_formula_is_typeset_once_and_sized_in_em(tmp_path):
    renderer = FormulaRenderer(tmp_path)
    first = renderer.render(r"\frac{1}{1 + e^{-x}}", display=True)
    assert first.height_em > 1.5 and first.width_em > first.height_em
    assert (tmp_path / first.file).read_text().startswith("<svg")
    mtime = (tmp_path / first.file).stat().st_mtime_ns
    assert renderer.render(r"\frac{1}{1 + e^{-x}}", display=True) == first
    assert (tmp_path / first.file).stat().st_mtime_ns == mtime
    inline = renderer.render("x^2", display=False)
    assert inline.baseline_em < 0 and inline.file != first.file


@pytest.mark.parametrize("latex, message", [(r"\frac{1}{", "cannot typeset"), (r"\notacommand{x}", r"\notacommand")])
def test_bad_latex_is_an_error_not_garbage(tmp_path, latex, message):
    with pytest.raises(FormulaError, match=message.replace("\\", "\\\\")):
        FormulaRenderer(tmp_path).render(latex, display=True)
