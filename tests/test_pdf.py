from __future__ import annotations

from report.pdf import PartRenderer


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
