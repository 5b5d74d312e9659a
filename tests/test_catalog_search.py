"""Search over the whole-Hub catalog: a walk puts every listed repo in the index (id, tags, card
fields; no README, none was fetched), mirrored ones keep their README, ``mirrored`` tells them
apart in Python, the CLI, the JSON API and the web page; gone repos leave, renames arrive, and a
rebuilt index equals the one the walks and the mirror kept up to date."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx2
import pytest

from hf_ipfs_scraper import Catalog, Mirror
from hf_ipfs_scraper.search import SearchIndex, SearchQuery
from tests.test_walk import CORPUS, PUBLIC, _walk, config, emu  # noqa: F401 - the emulator and its config
from tests.test_web_hub import ServerThread
from tests.test_web_page import browser, search, shown  # noqa: F401 - the browser fixture

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]


def _indexed(index: SearchIndex) -> dict[str, bool]:
    """Every document's key and mirrored flag."""
    found: dict[str, bool] = {}
    page = 1
    while True:
        hits = index.search(SearchQuery(sort="downloads", limit=50, page=page)).hits
        found.update({h.key: h.mirrored for h in hits})
        if len(hits) < 50:
            return found
        page += 1


def test_a_walk_indexes_every_listed_repo_and_its_readme_only_once_mirrored(emu, config) -> None:
    target, word = PUBLIC[7], "quetzalcoatlus"  # a word only its README has: found only through it
    emu.update_file(target, "README.md", f"# {target}\n\nNamed after the {word}, a pterosaur.\n".encode())
    key = f"model:{target}"
    with Mirror(config) as mirror:
        _walk(mirror)
        assert mirror.search is not None
        assert _indexed(mirror.search) == {f"model:{i}": False for i in PUBLIC}
        by_id = mirror.search.search(SearchQuery(target, types=("model",), limit=50))
        assert key in {h.key for h in by_id.hits} and not by_id.hits[0].snippet  # no README: no excerpt
        assert mirror.search.search(SearchQuery(f"readme:{word}", keys={key})).total == 0

        emu.set_trending(target, 10_000)
        summary = mirror.scrape_models(limit=1)
        assert summary.mirrored == 1
        hit = mirror.search.search(SearchQuery(f"readme:{word}", keys={key})).hits
        assert [(h.key, h.mirrored) for h in hit] == [(key, True)] and "<mark>" in hit[0].snippet
        mirrored = mirror.search.search(SearchQuery(mirrored=True, limit=50))
        catalog_only = mirror.search.search(SearchQuery(mirrored=False, limit=50))
        assert [h.key for h in mirrored.hits] == [key] and catalog_only.total == len(PUBLIC) - 1

        _walk(mirror, full=True)  # re-lists the mirrored repo: its document keeps the README
        assert mirror.search.search(SearchQuery(f"readme:{word}", keys={key})).total == 1
        assert mirror.search.search(SearchQuery("mirrored:false", limit=50)).total == len(PUBLIC) - 1


def test_a_walk_killed_mid_way_is_indexed_whole_by_the_walk_that_resumes_it(emu, config, monkeypatch) -> None:
    with Mirror(config) as mirror:
        real, calls = mirror.state.walk_page, []

        def dies_at_the_third(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(1)
            if len(calls) == 3:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        monkeypatch.setattr(mirror.state, "walk_page", dies_at_the_third)
        with pytest.raises(KeyboardInterrupt):
            _walk(mirror)
        monkeypatch.undo()
        assert mirror.search is not None and mirror.search.count() == 0  # Ctrl-C: no indexing on the way out
        _walk(mirror)  # resumes at the third page, indexes the first two pages' too
        assert _indexed(mirror.search) == {f"model:{i}": False for i in PUBLIC}


def test_gone_repos_leave_the_index_renames_arrive_and_a_rebuild_agrees(emu, config) -> None:
    kept, removed, renamed = PUBLIC[0], PUBLIC[3], PUBLIC[4]
    with Mirror(config) as mirror:
        _walk(mirror)
        emu.set_trending(kept, 10_000)
        assert mirror.scrape_models(limit=1).mirrored == 1
        emu.remove_repo(removed)
        emu.remove_repo(kept)  # mirrored, then gone from the Hub: its archive stays searchable
        emu.rename_repo(renamed, "newowner/renamed-model")
        _walk(mirror, full=True)
        assert mirror.search is not None
        incremental = _indexed(mirror.search)
        expected = {f"model:{i}": i == kept for i in PUBLIC if i not in (removed, renamed)}
        assert incremental == expected | {"model:newowner/renamed-model": False}
        assert mirror.reindex() == len(incremental)
        assert _indexed(mirror.search) == incremental


def test_the_cli_the_api_and_the_page_tell_catalog_only_repos_apart(emu, config, hf_env, browser) -> None:  # noqa: F811
    from hf_ipfs_scraper.web.app import create_app

    with Mirror(config) as mirror:
        _walk(mirror)
        emu.set_trending(PUBLIC[2], 10_000)
        assert mirror.scrape_models(limit=1).mirrored == 1
    env = hf_env.subprocess_env(emu)
    out = str(config.output_dir)
    only = subprocess.run([*CLI, "--output-dir", out, "search", "--catalog-only", "--limit", "50", "--json"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert only.returncode == 0, only.stderr
    hits = json.loads(only.stdout)["hits"]
    assert len(hits) == len(PUBLIC) - 1 and not any(h["mirrored"] for h in hits)
    text = subprocess.run([*CLI, "--output-dir", out, "search", "--mirrored"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert text.returncode == 0 and f"model:{PUBLIC[2]}" in text.stdout and "(catalog only)" not in text.stdout
    both = subprocess.run([*CLI, "--output-dir", out, "search", "--mirrored", "--catalog-only"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert both.returncode == 2 and "not allowed with" in both.stderr

    with Catalog(config.output_dir) as catalog:
        listed = next(e for e in catalog.entities("model") if e.status == "listed")
    with ServerThread(create_app(config.output_dir)) as server:
        api: dict[str, Any] = httpx2.get(f"{server.url}/api/search", params={"mirrored": "false", "limit": 50}).json()
        assert api["pagination"]["total"] == len(PUBLIC) - 1 and not any(h["mirrored"] for h in api["data"])
        entity = httpx2.get(f"{server.url}/api/entities/model/{listed.id}").json()["entity"]
        assert entity["mirrored"] is False and entity["status"] == "listed" and entity["listed_at"].endswith("Z")

        context = browser.new_context(viewport={"width": 1200, "height": 900}, base_url=server.url)
        tab = context.new_page()
        problems: list[str] = []
        tab.on("pageerror", lambda e: problems.append(str(e)))
        tab.set_default_timeout(15_000)
        try:
            tab.goto("/")
            tab.locator("#health").get_by_text("catalog only").wait_for()
            assert f"{len(PUBLIC) - 1} more repos known from Hub walks" in tab.locator("#health").text_content()
            search(tab, mirrored="true")
            assert shown(tab) == [PUBLIC[2]]
            assert tab.locator("#results .badge-catalog").count() == 0
            search(tab, mirrored="false")
            assert len(shown(tab)) == 10 and PUBLIC[2] not in shown(tab)  # a page of 10
            assert tab.locator("#results .badge-catalog").count() == 10
            first = tab.locator("#results > li.result").first
            assert "Not mirrored" in (first.text_content() or "") and first.locator("button.copy").count() == 0
            first.locator("h3 a").click()
            tab.locator("#repo-heading").wait_for()
            summary = tab.locator("#summary-panel").text_content() or ""
            assert "Catalog only: metadata from a Hub walk" in summary
            assert tab.locator(".repo-head .badge-catalog").count() == 1
            assert not problems, problems
        finally:
            context.close()
