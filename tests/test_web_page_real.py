"""The web page in a real browser against the REAL server: the archive mirrored from the emulator,
``create_app`` with its JSON API — search, open a repo, see its files, chart and family tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.test_web_hub import ServerThread
from tests.test_web_jobs import archive  # noqa: F401 - the module-scoped mirrored archive
from tests.test_web_page import ARTIFACTS, browser, search, shown  # noqa: F401 - the browser fixture


@pytest.fixture(scope="module")
def real_server(archive: Path) -> Iterator[ServerThread]:  # noqa: F811 - the imported fixture
    from hf_ipfs_scraper.web.app import create_app

    with ServerThread(create_app(archive)) as running:
        yield running


def test_search_and_open_a_repo_on_the_real_api(browser: Any, real_server: ServerThread) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 1200, "height": 900}, base_url=real_server.url)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.set_default_timeout(15_000)
    try:
        tab.goto("/")
        search(tab, q="zebra")
        assert shown(tab) == ["eng/tiny"]
        search(tab, q="bert")
        assert set(shown(tab)) == {"ger/bert-deutsch", "eng/bert-news"}
        tab.locator("#results > li.result a").first.click()
        tab.locator("img").first.wait_for()
        tab.wait_for_function("() => [...document.images].some(i => i.complete && i.naturalWidth > 0)")
        text = tab.locator("main").text_content() or ""
        assert "weights.bin" in text and "README.md" in text
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / "real-detail.png"), full_page=True)
        assert not problems, problems
    finally:
        context.close()
