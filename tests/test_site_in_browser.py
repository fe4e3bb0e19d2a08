"""The site as a reader's browser sees it: headless Chromium over loopback, phone and desktop."""
from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "tests" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)")]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server(quick_site):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(quick_site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser, server, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.on("request", lambda r: problems.append(f"external request: {r.url}")
            if not r.url.startswith(server) else None)
    page.goto(server, wait_until="load")
    return page, problems


IMAGES = """Promise.all([...document.images].map(img => {
  img.loading = 'eager';
  return img.decode().then(() => [img.getAttribute('src'), img.naturalWidth, img.naturalHeight])
                     .catch(() => [img.getAttribute('src'), 0, 0]);
}))"""


@pytest.mark.parametrize("name, width, height", [("desktop", 1440, 900), ("phone", 375, 812)])
def test_site_renders_cleanly(browser, server, name, width, height):
    page, problems = open_page(browser, server, width, height)
    images = page.evaluate(IMAGES)
    assert images, "the page has images"
    broken = [src for src, w, h in images if not (w > 0 and h > 0)]
    assert not broken, f"images that did not decode: {broken}"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"horizontal overflow of {overflow}px at {width}px"
    pdf = page.request.get(server + page.get_attribute("a.pdf-link", "href"))
    assert pdf.ok and pdf.body()[:5] == b"%PDF-"
    assert page.get_attribute("html", "lang") == "zh-CN"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png")
    page.wait_for_timeout(300)
    assert not problems, problems
    page.close()


@pytest.mark.parametrize("width, height", [(1440, 900), (375, 812)])
def test_a_link_into_the_page_stays_on_its_section_while_figures_load(browser, server, width, height):
    """Lazily loaded figures above the target must not push it away: each <img> reserves its room.
    Chromium's scroll anchoring would hide the problem; Safari has none, so it is switched off."""
    page = browser.new_page(viewport={"width": width, "height": height}, reduced_motion="reduce")
    page.add_init_script("document.addEventListener('DOMContentLoaded', () => "
                         "document.documentElement.style.overflowAnchor = 'none')")
    page.goto(server + "#layer_activations", wait_until="domcontentloaded")
    page.evaluate(IMAGES)  # every figure loaded and decoded
    page.wait_for_timeout(300)
    top = page.evaluate("document.getElementById('layer_activations').getBoundingClientRect().top")
    assert abs(top) < 50, f"the section heading is {top:.0f}px from the top of the window"
    page.close()


def test_on_a_phone_the_text_starts_on_the_first_screen_and_the_contents_are_one_tap_away(browser, server):
    page, problems = open_page(browser, server, 375, 812)
    assert page.evaluate("document.querySelector('.toc-details').open") is False
    first_title = page.locator("main .section-title").first.bounding_box()
    assert first_title["y"] + first_title["height"] < 812, "the first section's title is on the first screen"
    page.mouse.wheel(0, 6000)
    page.wait_for_timeout(300)
    button = page.locator(".to-toc")
    assert button.is_visible()
    button.click()
    page.wait_for_timeout(300)
    assert page.evaluate("document.querySelector('.toc-details').open") is True
    page.locator(".toc-list a").nth(2).click()  # picking a section folds the contents again
    assert page.evaluate("document.querySelector('.toc-details').open") is False
    assert page.get_attribute(".skip-link", "href") == "#main" and page.locator("main#main").count() == 1
    assert not problems
    page.close()


def test_on_a_desktop_the_contents_stay_open_beside_the_text(browser, server):
    page, problems = open_page(browser, server, 1440, 900)
    assert page.evaluate("document.querySelector('.toc-details').open") is True
    assert not page.locator(".to-toc").is_visible()
    assert not problems
    page.close()


def test_no_chinese_is_slanted(browser, server):
    """CJK fonts have no italics: emphasis and code comments stay upright (the browser would fake a slant)."""
    page, _ = open_page(browser, server, 1440, 900)
    slanted = page.evaluate("""[...document.querySelectorAll('main *')]
        .filter(e => getComputedStyle(e).fontStyle !== 'normal' && /[\\u4e00-\\u9fff]/.test(e.textContent))
        .map(e => e.tagName + ' ' + e.textContent.slice(0, 30))""")
    assert slanted == []
    page.close()


# Page weight: what Lighthouse's mobile score depends on, checked without Lighthouse (bench/lighthouse.py
# measures the scores themselves).
LOAD_SHIFTS = """new Promise(done => {
  let total = 0;
  new PerformanceObserver(list => list.getEntries().forEach(e => { if (!e.hadRecentInput) total += e.value; }))
    .observe({type: 'layout-shift', buffered: true});
  setTimeout(() => done(total), 500);
})"""


@pytest.mark.parametrize("width, height", [(1440, 900), (375, 812)])
def test_nothing_moves_while_the_page_loads(browser, server, width, height):
    """No layout shift: the theme switch is in the markup, not added by the script, and the math font
    is preloaded, so neither moves the text when it arrives."""
    page, problems = open_page(browser, server, width, height)
    page.evaluate("document.fonts.ready")
    assert page.evaluate(LOAD_SHIFTS) < 0.01
    assert page.locator(".theme-switch button").count() == 3 and page.locator(".theme-switch").is_visible()
    assert not problems
    page.close()


def test_the_first_screen_does_not_wait_for_the_rest_of_the_page(browser, server):
    """Scripts do not block the first paint, and blocks far below the screen are not laid out yet
    (content-visibility); the page stays under a DOM size that a phone lays out quickly."""
    page, problems = open_page(browser, server, 375, 812)
    scripts = page.evaluate("""[...document.scripts].map(s => ({src: s.getAttribute('src'), defer: s.defer,
                                                             async: s.async, length: s.textContent.length}))""")
    assert all(s["defer"] or s["async"] for s in scripts if s["src"]), scripts
    assert sum(s["length"] for s in scripts if not s["src"]) < 1000, "inline scripts stay small"
    skipped = """sel => [...document.querySelectorAll(sel)].map(e => !e.checkVisibility({contentVisibilityAuto: true}))"""
    # checkVisibility() is false inside a block whose contents content-visibility skips
    first, *_, last = page.evaluate(skipped, "main .section > :is(p, figure.listing) > *")
    assert not first, "the first paragraph is rendered"
    assert last, "the last listing, far below, is skipped until the reader scrolls to it"
    page.locator("main .section > figure.listing").last.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    assert not page.evaluate(skipped, "main .section > figure.listing > *")[-1], "and rendered once the reader is there"
    elements = page.evaluate("document.getElementsByTagName('*').length")
    # 11,225 with the exercises (the page's size today; most are highlighted-code and MathML nodes):
    # a guard against growth, not a target — Lighthouse calls anything over 1,400 large.
    assert elements < 12_000, f"{elements} elements"
    assert not problems
    page.close()


def test_scroll_boxes_are_tab_stops_only_where_they_scroll(browser, server):
    """site.js measures a box once it is near the screen (not all at load, which would lay out the
    whole page): near the screen, exactly the boxes that scroll are tab stops."""
    page, problems = open_page(browser, server, 375, 812)
    first_listing = page.locator("figure.listing .scroll-x").first
    first_listing.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    assert page.evaluate("el => el.scrollWidth > el.clientWidth", first_listing.element_handle())
    assert first_listing.get_attribute("tabindex") == "0"
    stale = page.evaluate("""[...document.querySelectorAll('.scroll-x, .equation')]
        .filter(el => el.firstElementChild && el.firstElementChild.checkVisibility({contentVisibilityAuto: true}))
        .filter(el => (el.scrollWidth > el.clientWidth + 1) !== el.hasAttribute('tabindex'))
        .map(el => el.outerHTML.slice(0, 80))""")
    assert stale == []
    assert not problems
    page.close()
