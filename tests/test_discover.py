from __future__ import annotations

import pytest

from report.discover import DiscoveryError, discover, with_dependencies


def write(tmp_path, name, text):
    (tmp_path / f"{name}.py").write_text(text, encoding="utf-8")


def test_sections_in_reading_order_and_helpers_ignored(tmp_path):
    write(tmp_path, "b", 'TITLE = "乙"\nORDER = (1, 1)\ndef run(ctx): pass\n')
    write(tmp_path, "a", 'TITLE = "甲"\nORDER = 1\ndef run(ctx): pass\n')
    write(tmp_path, "c", 'TITLE = "丙"\nORDER = 2\nUSES = ("a",)\ndef run(ctx): pass\n')
    write(tmp_path, "helper", "def run(ctx): pass\n")
    found = discover(tmp_path)
    assert [(e.name, e.number) for e in found] == [("a", "1"), ("b", "1.1"), ("c", "2")]
    assert [e.name for e in with_dependencies([found[2]], found)] == ["a", "c"]


@pytest.mark.parametrize("files, message", [
    ({"a": 'TITLE = "x"\nORDER = 1\ndef run(c): pass', "b": 'TITLE = "y"\nORDER = 1\ndef run(c): pass'},
     "both declare ORDER 1"),
    ({"a": 'TITLE = "x"\nORDER = 1\nUSES = ("ghost",)\ndef run(c): pass'}, "unknown experiment 'ghost'"),
    ({"a": 'TITLE = "x"\nORDER = N\ndef run(c): pass'}, "plain literals"),
    ({"a": 'TITLE = "x"\nORDER = 1\nUSES = ("b",)\ndef run(c): pass',
      "b": 'TITLE = "y"\nORDER = 2\nUSES = ("a",)\ndef run(c): pass'}, "cycle: a -> b -> a"),
    ({"a": 'TITLE = "x"\nORDER = "one"\ndef run(c): pass'}, "ORDER must be an int"),
])
def test_declaration_mistakes_are_errors(tmp_path, files, message):
    for name, text in files.items():
        write(tmp_path, name, text)
    with pytest.raises(DiscoveryError, match=message):
        discover(tmp_path)


def test_the_real_project_declares_the_notebook_sections():
    titles = {e.name: e.title for e in discover()}
    assert titles["activations"] == "激活函数详解"
