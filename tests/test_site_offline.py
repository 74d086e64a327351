"""The course site works offline: a lecture page, opened in Chromium with every request to another host blocked,
typesets its equations with MathJax and shows its slider with the figure of the slider's stored value, and no
request leaves the site.

The page is built as `make site` builds it (autograder.authoring.site: the lecture executed with its widgets' state stored,
nbconvert's lab template pointed at the site's own copies of MathJax, require.js and the widget manager) and served
over HTTP from a throw-away folder on a loopback port. A control shows that the blocking and the counting work: the
same page built with nbconvert's default (CDN) addresses asks for other hosts and gets no MathJax.
"""
from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from test_browser import SHOTS, chromium

from autograder.authoring import site

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')")
REPO = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.skipif(chromium() is None, reason="no Chromium on this machine: `apt-get install chromium` "
                                                            "(.ci/run does it as root), or set AUTOGRADER_CHROMIUM"),
              pytest.mark.skipif(site.assets_unavailable(REPO / "build" / "site-assets") is not None,
                                 reason=str(site.assets_unavailable(REPO / "build" / "site-assets")))]
LECTURE = "01_perceptron"            # equations, and a slider whose output is a figure


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The lecture's page twice (with the site's own assets, and with nbconvert's CDN defaults), over HTTP."""
    out = tmp_path_factory.mktemp("site")
    modules = site.install_assets(REPO / "build" / "site-assets", log=lambda line: None)
    site.copy_assets(modules, out)
    (out / "lectures").mkdir()
    nb = site.execute(REPO / "course" / f"{LECTURE}.ipynb")
    assert "widgets" in nb.metadata, "the lecture's widget state was not stored"
    (out / "lectures" / f"{LECTURE}.html").write_text(site.to_html(nb, LECTURE))
    from nbconvert import HTMLExporter

    cdn, _ = HTMLExporter(template_name="lab").from_notebook_node(nb, resources={"metadata": {"name": LECTURE}})
    (out / "lectures" / "with-cdns.html").write_text(cdn)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium(), args=args)
        yield instance
        instance.close()


def open_offline(browser, url: str):
    """The page in a fresh context where every request to another host is aborted and recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    here = urlparse(url).netloc
    outside: list[str] = []

    def route(r):
        if urlparse(r.request.url).netloc in (here, "") or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url, wait_until="load")
    return context, page, outside


def test_a_lecture_page_works_with_the_network_cut_off(browser, served):
    context, page, outside = open_offline(browser, f"{served}/lectures/{LECTURE}.html")
    try:
        # equations typeset by MathJax's CommonHTML output, not left as TeX source
        page.wait_for_function("document.querySelectorAll('.mjx-chtml.MJXc-display, .mjx-chtml').length > 10")
        typeset = page.evaluate("document.querySelectorAll('.mjx-chtml').length")
        raw = page.evaluate("[...document.querySelectorAll('.jp-RenderedMarkdown')].filter("
                            "e => /\\$[^$]+\\$/.test(e.innerText)).length")
        assert typeset > 10 and raw == 0, (typeset, raw)
        # the slider, rendered from its stored state, with the figure of its stored value below it
        slider = page.locator(".widget-slider, .jupyter-widget-slider").first
        slider.wait_for()
        widget = page.locator(".jupyter-widgets-output-area, .widget-output").filter(has=page.locator("img")).first
        widget.wait_for()
        assert widget.locator("img").first.evaluate("img => img.naturalWidth") > 100
        page.screenshot(path=str(SHOTS / "site-offline-lecture.png"), full_page=False)
        assert outside == [], f"the page asked for other hosts: {outside}"
    finally:
        context.close()


def test_the_control_a_cdn_page_is_caught(browser, served):
    """nbconvert's defaults: the same check sees requests to other hosts, and no typeset equation."""
    context, page, outside = open_offline(browser, f"{served}/lectures/with-cdns.html")
    try:
        page.wait_for_timeout(3000)
        assert outside, "no request to another host was recorded for the CDN page"
        assert page.evaluate("document.querySelectorAll('.mjx-chtml').length") == 0
    finally:
        context.close()
