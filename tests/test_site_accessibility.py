"""The site checked by axe-core (a third-party checker, bundled by axe-playwright-python) in
Chromium, on a phone and a desktop, in the light and the dark theme; and the pieces of the page
that axe cannot judge: copy buttons beside the code rather than over it, overflow that shows,
figures that keep their colours in the dark."""
from __future__ import annotations

import pytest

from tests.test_site_in_browser import CHROMIUM, browser, server  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)")]

SIZES = [(1440, 900), (375, 812)]

# The scroll shadows of .scroll-x are background gradients, under which axe reports the colour
# contrast of the code as "cannot tell" instead of checking it. The covers have the box's own
# colour, so the box painted flat is what the text is read against.
FLAT_SCROLL_BOXES = ".scroll-x { background: var(--scroll-bg) !important; }"


def open_page(browser, server, width: int, height: int, scheme: str):
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme,
                                  reduced_motion="reduce")
    page = context.new_page()
    page.goto(server, wait_until="load")
    return context, page


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width, height", SIZES)
def test_axe_finds_no_serious_or_critical_violation(browser, server, width, height, scheme):
    from axe_playwright_python.sync_playwright import Axe

    context, page = open_page(browser, server, width, height, scheme)
    page.add_style_tag(content=FLAT_SCROLL_BOXES)
    results = Axe().run(page, options={"resultTypes": ["violations"]})
    context.close()
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    summary = [f"{v['id']} ({v['impact']}): {len(v['nodes'])}× e.g. {v['nodes'][0]['html'][:120]}" for v in bad]
    assert not bad, f"{scheme}, {width}px: " + "; ".join(summary)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_code_colours_were_checked_by_axe(browser, server, scheme):
    """Guards the flat-box trick above: axe must really compare the code's token colours."""
    from axe_playwright_python.sync_playwright import Axe

    context, page = open_page(browser, server, 1440, 900, scheme)
    page.add_style_tag(content=FLAT_SCROLL_BOXES)
    results = Axe().run(page, context={"include": [[".listing .highlight"]]},
                        options={"runOnly": ["color-contrast"], "resultTypes": ["passes", "violations"]})
    context.close()
    passed = sum(len(r["nodes"]) for r in results.response["passes"])
    assert passed > 100 and not results.response["violations"]


COPY_BUTTONS = """[...document.querySelectorAll('.listing')].map(listing => {
  if (listing.tagName === 'DETAILS') listing.open = true;
  const button = listing.querySelector('button.copy');
  const code = listing.querySelector('.highlight pre');
  if (!button) return 'no copy button';
  const b = button.getBoundingClientRect(), c = code.closest('.scroll-x').getBoundingClientRect();
  const overlaps = b.left < c.right && c.left < b.right && b.top < c.bottom && c.top < b.bottom;
  return overlaps ? 'copy button over the code of ' + listing.textContent.slice(0, 40) : null;
}).filter(Boolean)"""


@pytest.mark.parametrize("width, height", SIZES)
def test_the_copy_button_has_a_place_of_its_own(browser, server, width, height):
    context, page = open_page(browser, server, width, height, "light")
    assert page.locator(".listing").count() > 0
    assert page.evaluate(COPY_BUTTONS) == []
    context.close()


def test_the_copy_button_copies_and_says_so(browser, server):
    context, page = open_page(browser, server, 375, 812, "light")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.rstrip("/"))
    listing = page.locator("figure.listing").first
    listing.locator("button.copy").click()
    status = listing.locator("[role=status]")
    status.wait_for(state="attached")
    page.wait_for_function("el => el.textContent.length > 0", arg=status.element_handle())
    assert "已复制" in status.text_content()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip() == listing.locator(".highlight pre").inner_text().strip() and "def " in copied
    context.close()


def test_wide_tables_and_listings_scroll_in_a_box_that_shows_it(browser, server):
    """At 375 px most listings and several tables are wider than the column: each scrolls in
    its own .scroll-x box (with the shadows), which the keyboard can reach."""
    context, page = open_page(browser, server, 375, 812, "light")
    wide = page.evaluate("""[...document.querySelectorAll('.listing .highlight, figure.table table')]
      .filter(el => el.scrollWidth > document.querySelector('main').clientWidth)
      .map(el => { const box = el.closest('.scroll-x');
                   return box && getComputedStyle(box).overflowX === 'auto'
                     && getComputedStyle(box).backgroundImage.includes('gradient')
                     && box.getAttribute('tabindex') === '0'; })""")
    context.close()
    assert len(wide) >= 5 and all(wide), wide


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_data_figures_are_never_filtered(browser, server, scheme):
    context, page = open_page(browser, server, 1440, 900, scheme)
    filters = page.evaluate("[...document.querySelectorAll('.figure img')].map(img => getComputedStyle(img).filter)")
    background = page.evaluate("getComputedStyle(document.querySelector('.figure img')).backgroundColor")
    context.close()
    assert filters and set(filters) == {"none"}
    assert background == "rgb(255, 255, 255)", "figures sit on white in both themes"


def test_the_theme_switch_is_remembered_and_recolours_the_code(browser, server):
    context, page = open_page(browser, server, 1440, 900, "light")
    keyword = "getComputedStyle(document.querySelector('.highlight .k')).color"
    light_keyword = page.evaluate(keyword)
    page.get_by_role("button", name="深色").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(13, 17, 23)"
    assert page.evaluate(keyword) != light_keyword
    page.reload(wait_until="domcontentloaded")  # the choice holds on the next visit, before site.js
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.get_by_role("button", name="深色").get_attribute("aria-pressed") == "true"
    page.get_by_role("button", name="自动").click()
    assert page.evaluate("document.documentElement.dataset.theme") is None
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    context.close()
