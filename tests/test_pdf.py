from __future__ import annotations

from report.pdf import PartRenderer, part_key


def document(text: str, pages: int = 1) -> str:
    breaks = '<p style="break-before: page">…</p>' * (pages - 1)
    return f'<html lang="zh-CN"><body><p>{text}</p>{breaks}</body></html>'


def test_started_parts_render_in_the_pool_and_are_collected_once(tmp_path):
    one, two = document("一", 2), document("二")
    with PartRenderer(tmp_path, tmp_path / "cache", jobs=2) as parts:
        parts.start([(one, True), (two, False)])
        assert len(parts.running) == 2 and parts.pool is not None
        (second,) = parts.render([two], tagged=False)
        (first,) = parts.render([one])
        assert (first.pages, second.pages) == (2, 1)
        assert (parts.rendered, len(parts.used), parts.running) == (2, 2, {})
    with PartRenderer(tmp_path, tmp_path / "cache", jobs=2) as again:
        again.start([(one, True), (two, False)])
        assert again.render([one]) and again.render([two], tagged=False)
        assert (again.rendered, again.pool) == (0, None)  # both from the cache


def test_a_single_part_renders_in_this_process(tmp_path):
    with PartRenderer(tmp_path, tmp_path / "cache", jobs=2) as parts:
        parts.start([(document("一"), True)])
        (part,) = parts.render([document("一")])
        assert (part.pages, parts.rendered, parts.pool) == (1, 1, None)


def test_a_part_is_keyed_by_the_images_and_backgrounds_it_shows(tmp_path):
    (tmp_path / "math").mkdir()
    (tmp_path / "math" / "f.svg").write_text("<svg/>")
    html = '<img src="a.svg"><span style="background: url(math/f.svg) 0 0 / 100% 100%"></span>'
    (tmp_path / "a.svg").write_text("<svg/>")
    before = part_key(html, tmp_path)
    (tmp_path / "math" / "f.svg").write_text("<svg><g/></svg>")
    assert part_key(html, tmp_path) != before
