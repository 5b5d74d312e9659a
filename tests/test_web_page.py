"""The web page (``web/page.py`` + ``web/static/``) in a REAL browser: Debian's Chromium driven by
Playwright, against the real page router and a small fake of the JSON API (``web/api.py``'s
contract) over a fixed in-memory fixture, served by uvicorn in a thread (``ServerThread``).

Playwright only drives the browser: it never downloads one (``executable_path`` is the system
Chromium). Without ``/usr/bin/chromium`` or the ``playwright`` package the browser tests skip, and
under ``CI=true`` they fail. Screenshots go to ``tests/artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import base64
import hashlib
import html
import tempfile
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import pytest
from fastapi import APIRouter, FastAPI, HTTPException, Query
from fastapi.responses import Response

from hf_ipfs_scraper.provenance.draw import draw_family
from hf_ipfs_scraper.web import page
from tests.conftest import missing_component
from tests.test_web_hub import ServerThread

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
MB, GB = 10**6, 10**9
FOCUS = ("model", "acme/bert-base-finetuned-sst2")
FOCUS_RANKS = [14, 9, 7, 4, 5, 3, 2, 2]


# -- the fixture: a dozen and a half repos, a small family, one trending history ---------------
def _cid(seed: str) -> str:
    return "bafybei" + base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode().lower().rstrip("=")[:52]


def _repo(type_: str, id_: str, size: int, readme: str, *, score: float | None = None, rank: int | None = None,
          downloads: int = 0, likes: int = 0, pipeline: str | None = None, library: str | None = None,
          gated: bool = False) -> dict[str, Any]:
    return {"entity_type": type_, "id": id_, "status": "done", "root_cid": _cid(f"{type_}:{id_}"), "size_bytes": size,
            "trending_score": score, "trending_rank": rank, "downloads": downloads, "likes": likes,
            "pipeline_tag": pipeline, "library_name": library, "author": id_.split("/")[0], "gated": gated,
            "title": None, "readme": readme, "license": "apache-2.0", "sdk": "gradio" if type_ == "space" else None,
            "tags": [t for t in (pipeline, library, "en") if t]}


REPOS = [
    _repo("model", "acme/bert-base", 420 * MB, "BERT base model (uncased) for masked language modelling.",
          score=55.2, rank=3, downloads=912_000, likes=1200, pipeline="fill-mask", library="transformers"),
    _repo("model", "acme/bert-base-finetuned-sst2", 438 * MB,
          "BERT base fine-tuned on SST-2 for sentiment classification of movie reviews.",
          score=81.5, rank=2, downloads=230_500, likes=310, pipeline="text-classification", library="transformers"),
    _repo("model", "acme/bert-large", 1340 * MB, "BERT large model (uncased), 24 layers.", score=12.0, rank=17,
          downloads=410_000, likes=500, pipeline="fill-mask", library="transformers"),
    _repo("model", "tiny/bert-tiny", 17 * MB, "A tiny BERT for tests and for phones.", downloads=88_000, likes=40,
          pipeline="fill-mask", library="transformers"),
    _repo("model", "quant/bert-base-sst2-gguf", 112 * MB, "Quantized GGUF of the SST-2 sentiment BERT.", score=4.5,
          rank=40, downloads=3_100, likes=12, library="gguf"),
    _repo("model", "acme/bert-multilingual", 710 * MB, "Multilingual BERT, 104 languages.", downloads=640_000,
          likes=420, pipeline="fill-mask", library="transformers"),
    _repo("model", "org/distilbert-base", 268 * MB, "DistilBERT: a smaller, faster BERT.", score=20.1, rank=9,
          downloads=1_500_000, likes=700, pipeline="fill-mask", library="transformers"),
    _repo("model", "org/tinybert-6l", 67 * MB, "TinyBERT with six layers.", downloads=9_000, likes=15),
    _repo("model", "mobile/mobilebert", 100 * MB, "MobileBERT for on-device inference.", downloads=22_000, likes=30),
    _repo("model", "legal/legal-bert", 440 * MB, "A BERT pre-trained on legal text.", downloads=51_000, likes=90,
          gated=True),
    _repo("model", "meta/llama-tiny-8b", 16 * GB, "An eight billion parameter chat model.", score=99.0, rank=1,
          downloads=2_000_000, likes=9000, pipeline="text-generation", library="transformers"),
    _repo("model", "vision/vit-base", 346 * MB, "Vision transformer for image classification.", downloads=300_000,
          likes=250, pipeline="image-classification", library="transformers"),
    _repo("dataset", "glue/sst2", 7 * MB, "Stanford Sentiment Treebank: movie review sentences for BERT-style "
          "sentiment classifiers.", score=8.0, rank=22, downloads=120_000, likes=80),
    _repo("dataset", "corpus/wiki-bert", 21 * GB, "Wikipedia text as used to pre-train BERT.", downloads=5_000,
          likes=33),
    _repo("space", "demo/bert-playground", 50_000, "Try BERT's masked language modelling in the browser.",
          score=3.2, rank=55, likes=18),
]
BY_KEY = {(r["entity_type"], r["id"]): r for r in REPOS}
EDGES = [  # (child, relation, parent) node keys
    ("model:acme/bert-base-finetuned-sst2", "finetune", "model:acme/bert-base"),
    ("model:acme/bert-base-finetuned-sst2", "trained_on", "dataset:glue/sst2"),
    ("model:quant/bert-base-sst2-gguf", "quantized", "model:acme/bert-base-finetuned-sst2"),
    ("space:demo/bert-playground", "uses", "model:acme/bert-base"),
    ("model:acme/bert-large", "unknown", "model:acme/bert-base"),
]


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for child, relation, parent in EDGES:
        for key in (child, parent):
            t, _, i = key.partition(":")
            graph.add_node(key, type=t, id=i, mirrored=(t, i) in BY_KEY)
        graph.add_edge(child, parent, relation=relation)
    return graph


def _files(repo: dict[str, Any]) -> list[dict[str, Any]]:
    small = {"README.md": len(repo["readme"]), "config.json": 620}
    big = repo["size_bytes"] - sum(small.values())
    name = {"model": "model.safetensors", "dataset": "data/train-00000-of-00001.parquet", "space": "app.py"}
    files = {**small, name[repo["entity_type"]]: big}
    return [{"path": p, "size": s, "cid": _cid(f"{repo['id']}/{p}")} for p, s in sorted(files.items())]


def _trending(type_: str, id_: str) -> list[dict[str, Any]]:
    if (type_, id_) == FOCUS:
        return [{"run_id": i + 1, "rank": r, "trending_score": 80.0 - 4 * r,
                 "captured_at": f"2025-03-{i + 1:02d}T06:00:00Z"} for i, r in enumerate(FOCUS_RANKS)]
    repo = BY_KEY[(type_, id_)]
    return [] if repo["trending_rank"] is None else [
        {"run_id": 8, "rank": repo["trending_rank"], "trending_score": repo["trending_score"],
         "captured_at": "2025-03-08T06:00:00Z"}]


# -- the fake API (the contract of web/api.py) --------------------------------------------------
def _snippet(text: str, words: list[str]) -> str:
    out = html.escape(text)
    for word in words:
        out = re.sub(f"({re.escape(html.escape(word))})", r"<mark>\1</mark>", out, flags=re.I)
    return out


SORT_KEYS = {"trending_score": "trending_score", "downloads": "downloads", "likes": "likes", "size": "size_bytes"}


def fake_api() -> APIRouter:
    router = APIRouter()

    @router.get("/api/health")
    def health() -> dict[str, Any]:
        counts: dict[str, dict[str, int]] = {}
        for r in REPOS:
            counts.setdefault(r["entity_type"], {"done": 0})["done"] += 1
        return {"status": "ok", "entities": counts}

    @router.get("/api/search")
    def search(q: str = "", type: Literal["model", "dataset", "space"] | None = None,
               size_gte: int | None = Query(None, ge=0), size_lte: int | None = Query(None, ge=0),
               sort: Literal["relevance", "trending_score", "downloads", "likes", "size"] = "relevance",
               order: Literal["desc", "asc"] = "desc", limit: int = Query(20, ge=1, le=50),
               page: int = Query(1, ge=1)) -> dict[str, Any]:
        if q == "boom":
            raise HTTPException(503, "the search index is being rebuilt")
        warnings = []
        if q.count('"') % 2:
            warnings.append("unbalanced quote: the query was searched as plain words")
        words = [w for w in re.split(r"\s+", q.replace('"', " ")) if w]
        hits = []
        for r in REPOS:
            text = f"{r['id']} {r['readme']}".lower()
            if type and r["entity_type"] != type or not all(w.lower() in text for w in words):
                continue
            if size_gte is not None and r["size_bytes"] < size_gte or size_lte is not None and r["size_bytes"] > size_lte:
                continue
            relevance = sum(text.count(w.lower()) for w in words) + (2 if any(w.lower() in r["id"] for w in words) else 0)
            fields = {k: v for k, v in r.items() if k not in ("readme", "status", "license", "sdk", "tags")}
            hits.append({**fields, "score": float(relevance), "snippet": _snippet(r["readme"], words)})
        key = SORT_KEYS.get(sort, "score")
        hits.sort(key=lambda h: h["id"])
        hits.sort(key=lambda h: h[key] or 0, reverse=order == "desc")
        pages = max(1, -(-len(hits) // limit))
        return {"data": hits[(page - 1) * limit: page * limit],
                "pagination": {"total": len(hits), "page": page, "limit": limit, "pages": pages},
                "warnings": warnings}

    def known(type_: str, id_: str) -> dict[str, Any]:
        if (type_, id_) not in BY_KEY:
            raise HTTPException(404, f"{type_}:{id_} is not in the archive")
        return BY_KEY[(type_, id_)]

    @router.get("/api/entities/{type_}/{id_:path}")
    def entity(type_: str, id_: str) -> dict[str, Any]:
        repo = known(type_, id_)
        files = _files(repo)
        key = f"{type_}:{id_}"
        graph = _graph()
        lineage: list[list[list[str]]] = []
        if key in graph:
            def up(node: str, path: list[list[str]]) -> None:
                parents = [(p, graph.edges[node, p]["relation"]) for p in sorted(graph.successors(node))]
                if not parents and path:
                    lineage.append(path)
                for parent, relation in parents:
                    up(parent, [*path, [node, relation, parent]])
            up(key, [])
        fields = ("entity_type", "id", "status", "root_cid", "size_bytes", "license", "likes", "downloads",
                  "trending_score", "pipeline_tag", "library_name", "sdk", "tags")
        return {"entity": {**{f: repo[f] for f in fields}, "file_count": len(files)}, "files": files,
                "lineage": lineage, "descendants": len(nx.ancestors(graph, key)) if key in graph else 0,
                "trending": _trending(type_, id_)}

    @router.get("/api/provenance/{type_}/{id_:path}")
    def provenance(type_: str, id_: str, format: Literal["json", "svg"] = "json") -> Any:
        key = f"{type_}:{id_}"
        graph = _graph()
        if key not in graph:
            raise HTTPException(404, f"{key} is not in the provenance graph")
        if format == "json":
            return nx.node_link_data(graph, edges="edges")
        return Response(SVGS.setdefault(key, _draw(graph, key)), media_type="image/svg+xml")

    return router


SVGS: dict[str, bytes] = {}


def _draw(graph: nx.DiGraph, key: str) -> bytes:
    """The real drawing code (``provenance/draw.py``) on the fixture's family."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "family.svg"
        draw_family(graph, key, out)
        return out.read_bytes()


# -- the server and the browser ---------------------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    app = FastAPI()
    app.include_router(fake_api())
    app.include_router(page.router)
    with ServerThread(app) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        missing_component("Debian's Chromium is not installed (apt-get install chromium chromium-driver)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_component("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page_(browser: Any, server: ServerThread) -> Iterator[Any]:
    """A fresh tab (desktop size) whose console errors and failed requests fail the test."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, base_url=server.url)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.set_default_timeout(15_000)
    tab.problems = problems
    yield tab
    context.close()


def shot(tab: Any, name: str, *, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


def shown(tab: Any) -> list[str]:
    """The ids of the result cards, in order."""
    return list(tab.locator("#results > li.result").evaluate_all("els => els.map(e => e.dataset.id)"))


def search(tab: Any, **fields: str) -> None:
    """Fill the form's fields (select or type), submit with Enter and wait for the new results."""
    before = tab.locator("#summary").text_content() if tab.locator("#summary").count() else None
    hash_before = tab.evaluate("location.hash")
    for name, value in fields.items():
        field = tab.locator(f"#{name}")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    # the view that is there now is marked: what the new search renders replaces it, unmarked (a
    # changed hash alone returns before the hashchange handler has even cleared the old results)
    tab.evaluate("document.querySelectorAll('#summary, #no-results, #main .error').forEach(e => e.dataset.stale = '1')")
    tab.locator("#q").press("Enter")
    tab.wait_for_function("([h, s]) => location.hash !== h || (document.querySelector('#summary') || {}).textContent !== s",
                          arg=[hash_before, before])
    tab.locator("#summary:not([data-stale]), #no-results:not([data-stale]), #main .error:not([data-stale])").first.wait_for()


def no_horizontal_scroll(tab: Any) -> None:
    widths = tab.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


# -- the page router --------------------------------------------------------------------------
def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers["content-type"], r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["content-type"], e.read()


def test_page_router_serves_the_page_and_its_files_with_their_types(server: ServerThread) -> None:
    status, ctype, body = _get(server.url + "/")
    assert (status, ctype) == (200, "text/html; charset=utf-8") and b'src="/static/app.js"' in body
    assert _get(server.url + "/static/app.js")[:2] == (200, "text/javascript; charset=utf-8")
    assert _get(server.url + "/static/style.css")[:2] == (200, "text/css; charset=utf-8")
    for bad in ("/static/nope.js", "/static/..%2Fpage.py", "/static/.hidden.js", "/static/%2E%2E%2Fpage.py"):
        assert _get(server.url + bad)[0] == 404, bad
    # package data: the static files install with the package
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert '"web/static/*"' in pyproject


# -- the browser tests ------------------------------------------------------------------------
def test_search_narrow_sort_open_a_repo_and_go_back(page_: Any) -> None:
    tab = page_
    tab.goto("/")
    tab.locator("#results").wait_for()
    assert tab.locator("#health").text_content() == "Archived: 12 models, 2 datasets, 1 space"
    assert len(shown(tab)) == 10 and "15 results" in tab.locator("#summary").text_content()

    search(tab, q="bert")
    assert tab.evaluate("location.hash") == "#/search?q=bert"
    assert "13 results" in tab.locator("#summary").text_content()
    ids = shown(tab)
    assert len(ids) == 10 and "meta/llama-tiny-8b" not in ids
    card = tab.locator(f'li.result[data-id="{FOCUS[1]}"]')
    assert card.locator("mark").first.text_content().lower() == "bert"
    assert card.locator("code").text_content() == BY_KEY[FOCUS]["root_cid"]
    assert card.get_by_text("81.5 (rank #2)").is_visible()
    assert card.get_by_text("438 MB").is_visible()
    assert card.locator("a.hub").get_attribute("href") == f"https://huggingface.co/{FOCUS[1]}"
    hub_links = tab.locator("li.result a.hub").evaluate_all("els => els.map(e => e.href)")
    assert "https://huggingface.co/datasets/corpus/wiki-bert" in hub_links
    assert not re.search(r"\b(null|undefined|NaN)\b", tab.locator("main").inner_text())
    shot(tab, "search.png")

    # the size range narrows the results to what it says
    search(tab, size_min="50 MB", size_max="0.5 GB")
    assert "size_gte=50000000&size_lte=500000000" in tab.evaluate("location.hash")
    narrowed = shown(tab)
    assert set(narrowed) == {"acme/bert-base", FOCUS[1], "quant/bert-base-sst2-gguf", "org/distilbert-base",
                             "org/tinybert-6l", "mobile/mobilebert", "legal/legal-bert"}
    assert "7 results for “bert”" in tab.locator("#summary").text_content()

    # sort by size, smallest first
    search(tab, sort="size", order="asc")
    by_size = shown(tab)
    assert by_size == sorted(narrowed, key=lambda i: BY_KEY[("model", i)]["size_bytes"])
    shot(tab, "search-narrowed-sorted.png")

    # the copy button puts the root CID on the clipboard
    tab.context.grant_permissions(["clipboard-read", "clipboard-write"])
    first = tab.locator("li.result").first
    first.get_by_role("button", name=re.compile("^Copy root CID of ")).click()
    first.locator("button.copy", has_text="Copied").wait_for()  # the button says so (for 2 s)
    assert tab.evaluate("navigator.clipboard.readText()") == first.locator("code").text_content()

    # open a repo
    results_hash = tab.evaluate("location.hash")
    tab.get_by_role("link", name=FOCUS[1], exact=True).click()
    assert tab.evaluate("location.hash") == f"#/repo/model/{FOCUS[1]}"
    tab.locator("#files").wait_for()
    assert tab.title() == f"{FOCUS[1]} — Hugging Face archive"
    assert tab.locator("#files tbody tr").count() == 3
    assert tab.locator("#files").get_by_text(_files(BY_KEY[FOCUS])[0]["cid"]).is_visible()
    paths = tab.locator("ol.lineage > li").all_text_contents()
    assert paths == ["model acme/bert-base-finetuned-sst2 trained on dataset glue/sst2",
                     "model acme/bert-base-finetuned-sst2 fine-tuned from model acme/bert-base"]
    assert "1 known derivative" in tab.locator("#lineage").text_content()
    tree = tab.locator("#family-tree")
    tab.wait_for_function("() => { const i = document.querySelector('#family-tree'); return i.complete && i.naturalWidth > 0 }")
    assert tree.get_attribute("alt").startswith("Family tree of ")
    chart = tab.locator("#trend-chart")
    assert chart.get_attribute("role") == "img" and chart.locator("circle.dot").count() == len(FOCUS_RANKS)
    ys = chart.locator("circle.dot").evaluate_all("els => els.map(e => +e.getAttribute('cy'))")
    assert ys.index(min(ys)) == FOCUS_RANKS.index(min(FOCUS_RANKS))  # the best rank is drawn highest
    assert chart.locator("polyline.line").count() == 1
    assert "best rank #2, latest rank #2" in tab.locator("#trending figcaption").text_content()
    assert not re.search(r"\b(null|undefined|NaN)\b", tab.locator("main").inner_text())
    shot(tab, "detail.png")

    # lineage nodes link to their own repo view
    tab.locator("ol.lineage").get_by_role("link", name="model acme/bert-base", exact=True).click()
    # the repo view it leaves has a #files too: wait for the new heading, not for any #files
    tab.wait_for_function("() => document.querySelector('#repo-heading')?.textContent === 'acme/bert-base'")
    tab.locator("#files").wait_for()
    assert "This repo has not been" not in tab.locator("#trending").text_content()

    # back twice: the repo, then the results as they were (form refilled from the URL)
    tab.go_back()
    tab.wait_for_function(f"() => location.hash === '#/repo/model/{FOCUS[1]}'")
    tab.locator("#trend-chart").wait_for()
    tab.go_back()
    tab.locator("#results").wait_for()
    assert tab.evaluate("location.hash") == results_hash
    assert shown(tab) == by_size
    assert tab.locator("#size_min").input_value() == "50 MB" and tab.locator("#size_max").input_value() == "500 MB"
    assert tab.locator("#sort").input_value() == "size" and tab.locator("#order").input_value() == "asc"

    # pages: 13 "bert" results, 10 a page
    search(tab, q="bert", size_min="", size_max="", sort="relevance", order="desc")
    tab.get_by_role("link", name="Next →").click()
    tab.get_by_text("Page 2 of 2").wait_for()
    assert len(shown(tab)) == 3 and tab.locator("#results").get_attribute("start") == "11"
    hub_links = tab.locator("li.result a.hub").evaluate_all("els => els.map(e => e.href)")
    assert "https://huggingface.co/datasets/glue/sst2" in hub_links

    # the type filter
    search(tab, type="space")
    assert shown(tab) == ["demo/bert-playground"] and "type=space" in tab.evaluate("location.hash")
    assert tab.locator("a.hub").get_attribute("href") == "https://huggingface.co/spaces/demo/bert-playground"
    assert not tab.problems, tab.problems


def test_a_400px_window_shows_the_results_without_scrolling_sideways(browser: Any, server: ServerThread) -> None:
    context = browser.new_context(viewport={"width": 400, "height": 800}, base_url=server.url)
    tab = context.new_page()
    try:
        tab.goto("/#/search?q=bert")
        tab.locator("#results").wait_for()
        assert len(shown(tab)) == 10
        box = tab.locator("li.result").first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 400
        no_horizontal_scroll(tab)
        shot(tab, "narrow-search.png", full_page=False)
        shot(tab, "narrow-search-full.png")
        tab.goto(f"/#/repo/model/{FOCUS[1]}")
        tab.wait_for_function("() => { const i = document.querySelector('#family-tree'); return i && i.complete && i.naturalWidth > 0 }")
        no_horizontal_scroll(tab)
        shot(tab, "narrow-detail.png")
    finally:
        context.close()


def test_keyboard_only_search_and_open(page_: Any) -> None:
    tab = page_
    tab.goto("/")
    tab.locator("#results").wait_for()
    order = []
    for _ in range(4):
        tab.keyboard.press("Tab")
        order.append(tab.evaluate("document.activeElement.id || document.activeElement.textContent"))
        if order[-1] == "q":
            break
    assert order == ["Skip to content", "Hugging Face archive", "q"], order
    outline = tab.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused search box shows no focus ring"
    tab.keyboard.type("sentiment")
    tab.keyboard.press("Enter")
    tab.wait_for_function("() => location.hash === '#/search?q=sentiment'")
    tab.locator("#summary").get_by_text("3 results for “sentiment”").wait_for()
    first = shown(tab)[0]
    assert first == "glue/sst2"  # "sentiment" twice in its README
    assert tab.evaluate("document.activeElement.id") == "q"  # the form keeps the focus

    # the fields come in reading order, then the submit button, then the first result
    ids = []
    for _ in range(9):
        tab.keyboard.press("Tab")
        ids.append(tab.evaluate("document.activeElement.id || document.activeElement.textContent"))
    assert ids == ["type", "mirrored", "size_min", "size_max", "sort", "order", "Search", first, "Copy"]
    shot(tab, "keyboard-focus.png", full_page=False)
    tab.keyboard.press("Shift+Tab")
    tab.keyboard.press("Enter")
    tab.locator("#files").wait_for()
    assert tab.evaluate("document.activeElement.id") == "repo-heading"  # the new view's heading has the focus
    assert tab.locator("#repo-heading").text_content() == first
    tab.go_back()
    tab.locator("#results").wait_for()
    assert tab.evaluate("document.activeElement.id") == "results-heading"
    assert not tab.problems, tab.problems


def test_errors_warnings_no_results_and_bad_sizes_are_shown_plainly(page_: Any) -> None:
    tab = page_
    tab.goto("/")
    tab.locator("#results").wait_for()

    search(tab, q='"bert base')
    assert tab.locator(".warnings").text_content() == "Warningunbalanced quote: the query was searched as plain words"

    search(tab, q="zebra")
    assert tab.locator("#summary").text_content() == "No results for “zebra”."
    assert tab.locator("#no-results").is_visible()

    search(tab, q="boom")
    alert = tab.get_by_role("alert").filter(has_text="503")
    assert "The archive API answered 503: the search index is being rebuilt." in alert.text_content()
    tab.problems.clear()  # the browser logs the failed request; the page showed it

    hash_before = tab.evaluate("location.hash")
    tab.locator("#size_min").fill("ten")
    tab.locator("#q").press("Enter")
    assert "“ten” is not a size" in tab.locator("#form-error").text_content()
    assert tab.locator("#size_min").get_attribute("aria-invalid") == "true"
    assert tab.evaluate("location.hash") == hash_before
    tab.locator("#size_min").fill("2 GB")
    tab.locator("#size_max").fill("1 GB")
    tab.locator("#q").press("Enter")
    assert tab.locator("#form-error").text_content() == "The minimum size is larger than the maximum size."
    shot(tab, "errors.png", full_page=False)

    tab.goto("/#/repo/model/nobody/nothing")
    tab.get_by_text("nobody/nothing (model) is not in this archive.").wait_for()
    tab.problems.clear()


def test_sizes_parse_and_print_in_human_units(page_: Any) -> None:
    tab = page_
    tab.goto("/")
    got = tab.evaluate("""async () => {
        const m = await import('/static/app.js');
        const parsed = ['', '1024', '10 MB', '1.5GB', '2 GiB', '.5 kb', '3 TB'].map(m.parseSize);
        const printed = [0, 999, 1000, 1234567, 438e6, 16e9].map(m.formatSize);
        const exact = [500e6, 2 * 1024 ** 3, 1234].map(m.exactSize);
        let bad = []; for (const s of ['ten', '5 parsecs', '-3 MB']) { try { m.parseSize(s); } catch (e) { bad.push(s); } }
        return {parsed, printed, exact, bad};
    }""")
    assert got == {"parsed": [None, 1024, 10 * MB, 1500 * MB, 2 * 1024**3, 500, 3 * 10**12],
                   "printed": ["0 B", "999 B", "1.0 KB", "1.2 MB", "438 MB", "16.0 GB"],
                   "exact": ["500 MB", "2 GiB", "1234 B"], "bad": ["ten", "5 parsecs", "-3 MB"]}
