"""bench/lighthouse.py without Lighthouse: the report it reads, the table it writes, the server it runs."""
from __future__ import annotations

import gzip
import sys
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.lighthouse import CATEGORIES, METRICS, parse_report, render, serve  # noqa: E402


def fake_report(performance: float, lcp_ms: float) -> dict:
    audits = {audit: {"numericValue": 100.0} for audit in METRICS}
    audits["largest-contentful-paint"] = {"numericValue": lcp_ms}
    audits["dom-size"] = {"numericValue": 8969}
    scores = {key: {"score": 1.0} for key in CATEGORIES}
    scores["performance"] = {"score": performance}
    return {"categories": scores, "audits": audits}


def test_a_report_becomes_scores_out_of_100_and_seconds():
    run = parse_report(fake_report(0.934, 2450.0))
    assert run.scores["performance"] == 93 and run.scores["seo"] == 100
    assert run.metrics["largest-contentful-paint"] == 2.45  # seconds
    assert run.metrics["total-blocking-time"] == 100.0  # milliseconds stay milliseconds


def test_each_column_is_the_median_of_its_runs():
    runs = [parse_report(fake_report(p, lcp)) for p, lcp in ((0.80, 3000.0), (0.97, 1000.0), (0.95, 2000.0))]
    table = render({"mobile": runs, "desktop": runs[:1]}, "12.8.2")
    mobile = next(line for line in table.splitlines() if line.startswith("| mobile |"))
    cells = [c.strip() for c in mobile.strip("|").split("|")]
    assert cells[1] == "95"  # performance: median of 80, 97, 95
    assert cells[6] == "2.00"  # largest paint, s
    assert cells[-1] == "80, 97, 95"
    assert "Lighthouse 12.8.2" in table and "Medians of 3 runs" in table


def test_text_is_served_compressed_as_github_pages_does(tmp_path):
    (tmp_path / "index.html").write_text("<!DOCTYPE html><title>页</title>" + "<p>文字</p>" * 500, encoding="utf-8")
    (tmp_path / "math.woff2").write_bytes(b"wOF2" + bytes(100))
    with serve(tmp_path) as url:
        page = urllib.request.urlopen(urllib.request.Request(url, headers={"Accept-Encoding": "gzip"}))
        assert page.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(page.read()) == (tmp_path / "index.html").read_bytes()
        plain = urllib.request.urlopen(url)  # a client that asks for no compression gets none
        assert plain.headers["Content-Encoding"] is None
        font = urllib.request.urlopen(urllib.request.Request(url + "math.woff2", headers={"Accept-Encoding": "gzip"}))
        assert font.headers["Content-Encoding"] is None and font.read()[:4] == b"wOF2"

