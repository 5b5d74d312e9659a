"""The web page in a REAL browser (Debian's Chromium via Playwright) over a REAL archive whose
repo cards are hostile (issue 10, point 7: "responses escape card text"), and ``serve`` binding
loopback unless told otherwise.

A few models, a dataset and a Space are mirrored from the Hub emulator with script injection in
every card field the page shows (title, pretty_name, license, tags, pipeline_tag, library_name,
sdk, README text for the search snippets, a file name) and in those it does not (emoji,
short_description, a ``javascript:`` thumbnail, base_model and datasets entries that are not repo
ids), plus a Hub-valid id that reads as JavaScript's ``constructor/__proto__``. The page is then
searched, every hostile repo opened (summary, tags, lineage, family tree, files), and the hash
routes loaded with hostile values in every part the page reads.

The page already carries a Content-Security-Policy that forbids inline script, so an injection
would be blocked even if the page built markup from card text. To prove the page itself escapes
(the CSP is a second line, not the first), the views are walked in a context with the CSP
bypassed: there an injected ``onerror`` *would* run. Markup that got in is caught even when
nothing runs: no element may carry an ``on*`` attribute, the page holds only its own ``img`` and
``script``, and no request for the payloads' ``src=x`` reaches the server. And the hostile text
must be on the page, as text: a page that dropped the card data would fail too.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from hf_ipfs_scraper import Mirror, load_config
from hf_ipfs_scraper.web.app import create_app
from tests.hubemu import HubEmulator, Repo, RepoFile
from tests.hubemu.fixtures import HfEnv
from tests.test_web_hub import Archive, ServerThread, _start_serve
from tests.test_web_page import ARTIFACTS, browser, search, shown  # noqa: F401 - the browser fixture

WORD = "zxqpwned"  # the search word: in every hostile card, nowhere else


def evil(n: int) -> str:
    """Markup that sets ``window.__pwned`` to ``n`` (and opens a dialog) if it is ever parsed as
    HTML, run as a template or followed as a link; ``n`` names the field it was put in."""
    return (f'{WORD}{n} <img src=x onerror="window.__pwned={n};alert({n})"> <script>window.__pwned={n}</script> '
            f'"><svg onload=window.__pwned={n}> {{{{constructor.constructor(\'window.__pwned={n}\')()}}}}')


JS_LINK = "javascript:window.__pwned=99;alert(99)"
MODEL, BASE, DATASET, SPACE = "evil/zxqpwned-model", "evil/zxqpwned-base", "evil/zxqpwned-data", "evil/zxqpwned-space"
PROTO = "constructor/__proto__"  # a Hub-valid id; as JavaScript property names it is the prototype chain
EVIL_FILE = "docs/" + evil(30).replace("/", "_") + ".md"  # one folder, a hostile name (no "/" in it)
# which payload the page must show, as text, in which repo's view (search hits show title and task)
SHOWN = {
    MODEL: {"license": evil(1), "pretty_name": evil(2), "tag": evil(3), "pipeline_tag": evil(5),
            "library_name": evil(6), "file": EVIL_FILE.split("/", 1)[1]},
    DATASET: {"license": evil(11), "pretty_name": evil(12), "tag": evil(13)},
    SPACE: {"title": evil(21), "license": evil(22), "sdk": evil(23)},
}
# what the page is given (the entity's card_data) but does not show
NOT_SHOWN = {SPACE: {"emoji": evil(24), "short_description": evil(25), "thumbnail": JS_LINK},
             MODEL: {"base_model": [evil(7), BASE], "datasets": [evil(8), DATASET], "tags": [evil(4)],
                     "thumbnail": JS_LINK}}  # the card's tags: the emulator's Hub tags are Repo.tags only
BODY = f"""
# {evil(40)}

The {WORD} text <script>window.__pwned=41</script> and <img src=x onerror=window.__pwned=42> and
"><svg onload=window.__pwned=43> and </mark><b>{WORD}</b> and {JS_LINK} and {{{{7*7}}}}.
"""


def _readme(card: dict[str, Any]) -> RepoFile:
    """A README whose front matter is ``card`` (dumped by PyYAML: every payload quoted right)."""
    front = yaml.safe_dump(card, allow_unicode=True, sort_keys=False, width=10_000)
    return RepoFile("README.md", f"---\n{front}---\n{BODY}".encode())


def _corpus() -> list[Repo]:
    m, d, s = SHOWN[MODEL], SHOWN[DATASET], SHOWN[SPACE]
    return [
        Repo("model", MODEL, [
            _readme({"license": m["license"], "pretty_name": m["pretty_name"], "tags": [NOT_SHOWN[MODEL]["tags"][0]],
                     "pipeline_tag": m["pipeline_tag"], "library_name": m["library_name"],
                     "base_model": NOT_SHOWN[MODEL]["base_model"], "datasets": NOT_SHOWN[MODEL]["datasets"],
                     "thumbnail": JS_LINK}),
            RepoFile(EVIL_FILE, b"hostile name"), RepoFile("config.json", b"{}")],
            trending_score=40, tags=[m["tag"]], pipeline_tag=m["pipeline_tag"], library_name=m["library_name"]),
        Repo("model", BASE, [_readme({"license": "mit"})], trending_score=30),
        Repo("model", PROTO, [_readme({"license": "mit", "base_model": BASE})], trending_score=20),
        Repo("dataset", DATASET, [_readme({"license": d["license"], "pretty_name": d["pretty_name"],
                                           "tags": [d["tag"]]})], trending_score=10, tags=[d["tag"]]),
        Repo("space", SPACE, [_readme({"title": s["title"], "emoji": NOT_SHOWN[SPACE]["emoji"], "sdk": "gradio",
                                       "short_description": NOT_SHOWN[SPACE]["short_description"],
                                       "thumbnail": JS_LINK, "license": s["license"], "models": [MODEL, evil(26)],
                                       "datasets": [DATASET]}),
                              RepoFile("app.py", b"print('hi')\n")], trending_score=10, sdk=s["sdk"]),
    ]


@dataclass
class Served:
    archive: Archive
    server: ServerThread


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("page-hostile")
    corpus = _corpus()
    with pytest.MonkeyPatch.context() as mp, HubEmulator(corpus) as emu:
        HfEnv(mp, root / "hf-home").use(emu)
        config = load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(root / "out")})
        with Mirror(config) as mirror:
            summaries = mirror.scrape_all({"model": 5, "dataset": 5, "space": 5})
        assert all(s.failed == 0 for s in summaries), [str(s) for s in summaries]
        archive = Archive(config.output_dir, emu, corpus)
    assert sorted(archive.done["model"]) == sorted([MODEL, BASE, PROTO]), archive.done
    assert archive.done["dataset"] == [DATASET] and archive.done["space"] == [SPACE], archive.done
    with ServerThread(create_app(archive.out)) as running:
        yield Served(archive, running)


# -- the browser side ------------------------------------------------------------------------
# Runs before the page's own script in every document: any payload that runs is recorded (and the
# record survives the page's own reassignments), and every CSP violation is recorded too.
WATCH = """
(() => {
  const ran = [];
  Object.defineProperty(window, '__pwned', { configurable: false,
    get() { return ran.length ? ran[0] : undefined; },
    set(v) { ran.push(v); console.error('PWNED ' + v); } });
  window.__ran = ran;
  window.__violations = [];
  document.addEventListener('securitypolicyviolation',
    (e) => window.__violations.push(`${e.violatedDirective}: ${e.sample || e.blockedURI}`));
})();
"""
# markup that only an injection puts on the page: an on* attribute anywhere; an img other than the
# family tree; a script other than app.js; frames and plugins; a link that is not the page's own
INJECTED = """() => {
  const all = [...document.querySelectorAll('*')];
  return [
    ...all.filter((e) => [...e.attributes].some((a) => a.name.toLowerCase().startsWith('on')))
      .map((e) => 'on* attribute: ' + e.outerHTML.slice(0, 120)),
    ...[...document.images].filter((i) => i.id !== 'family-tree').map((i) => 'img: ' + i.outerHTML.slice(0, 120)),
    ...[...document.scripts].filter((s) => s.getAttribute('src') !== '/static/app.js').map((s) => 'script: ' + s.outerHTML.slice(0, 120)),
    ...[...document.querySelectorAll('iframe, object, embed, frame, base, meta[http-equiv]')].map((e) => 'element: ' + e.outerHTML.slice(0, 120)),
    ...[...document.querySelectorAll('a[href]')].filter((a) => !/^(#|\\/|https:\\/\\/huggingface\\.co\\/)/.test(a.getAttribute('href')))
      .map((a) => 'link: ' + a.getAttribute('href')),
  ];
}"""


class Tab:
    """One browser tab that records what must never happen: a payload run, a dialog, a page
    error, an unexpected console error, a CSP violation."""

    def __init__(self, browser: Any, served: Served, *, bypass_csp: bool) -> None:
        self.served = served
        self.context = browser.new_context(viewport={"width": 1200, "height": 900}, base_url=served.server.url,
                                           bypass_csp=bypass_csp)
        self.context.add_init_script(WATCH)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.problems: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("console", self._console)

    def _dialog(self, dialog: Any) -> None:
        self.problems.append(f"dialog {dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        # a 404/422 the page asked for on purpose is logged as a failed resource; all else is a problem
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {message.text}")

    def goto(self, target: str) -> None:
        """A fresh load of ``target`` (never a same-document hash change), until the view is drawn."""
        self.page.goto("about:blank")
        self.page.goto(target)
        self.settled()

    def settled(self) -> None:
        self.page.wait_for_function("() => !document.querySelector('#main .loading') && document.querySelector('#main').children.length")

    def main_text(self) -> str:
        return str(self.page.locator("main").text_content() or "")

    def check(self, where: str) -> None:
        """Nothing ran, nothing was injected, no payload's ``src=x`` was fetched."""
        self.page.wait_for_timeout(50)  # an onerror fires once the failed image load is in
        ran = self.page.evaluate("window.__ran")
        assert ran == [] and self.page.evaluate("window.__pwned") is None, (where, ran)
        assert self.page.evaluate("window.__violations") == [], where
        assert self.page.evaluate(INJECTED) == [], where
        assert not self.problems, (where, self.problems)
        fetched = [p for _, p in self.served.server.requests if p == "/x" or "pwned" in p.lower() and "/api/" not in p]
        assert not fetched, (where, fetched)

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def tab(browser: Any, served: Served) -> Iterator[Tab]:  # noqa: F811 - the imported fixture
    opened = Tab(browser, served, bypass_csp=True)
    yield opened
    opened.close()


def _card_data(tab: Tab, type_: str, id_: str) -> dict[str, Any]:
    """The card data the archive gives the page for one repo (what it could have rendered)."""
    body = tab.page.evaluate("async (u) => (await fetch(u)).json()", f"/api/entities/{type_}/{quote(id_)}")
    return dict(body["entity"]["card_data"] or {})


def _edges(tab: Tab, type_: str, id_: str) -> set[tuple[str, str, str]]:
    """The family tree's edges the archive gives the page for one repo, as (child, relation, parent)."""
    body = tab.page.evaluate("async (u) => (await fetch(u)).json()", f"/api/provenance/{type_}/{quote(id_)}")
    return {(e["source"], e["relation"], e["target"]) for e in body["edges"]}


def _open_repo(tab: Tab, type_: str, id_: str) -> None:
    tab.page.locator(f'li.result[data-type="{type_}"][data-id="{id_}"] h3 a').click()
    tab.page.wait_for_function("(id) => document.querySelector('#repo-heading')?.textContent === id "
                               "&& !document.querySelector('#main .loading')", arg=id_)


def test_search_and_every_hostile_repo_view_show_the_card_text_and_run_none_of_it(tab: Tab) -> None:
    page = tab.page
    tab.goto("/")
    tab.check("the start page")
    search(page, q=WORD)
    assert set(shown(page)) == {MODEL, BASE, PROTO, DATASET, SPACE}, shown(page)  # the body is in every README
    tab.check("the search results")
    results = tab.main_text()
    for id_, title in ((MODEL, SHOWN[MODEL]["pretty_name"]), (DATASET, SHOWN[DATASET]["pretty_name"]),
                       (SPACE, SHOWN[SPACE]["title"])):
        card = page.locator(f'li.result[data-id="{id_}"]')
        assert card.locator("p.title").text_content() == title, id_
        snippet = card.locator("p.snippet")
        assert snippet.locator("mark").count() >= 1 and snippet.locator(":not(mark)").count() == 0, id_
        assert "<" in (snippet.text_content() or "") and WORD in (snippet.text_content() or ""), id_
    assert SHOWN[MODEL]["pipeline_tag"] in results and SHOWN[MODEL]["library_name"] in results
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "hostile-search.png"), full_page=True)

    for type_, id_ in (("model", MODEL), ("dataset", DATASET), ("space", SPACE)):
        _open_repo(tab, type_, id_)
        page.wait_for_function("() => { const i = document.querySelector('#family-tree'); "
                               "return i && i.complete && i.naturalWidth > 0 }")
        tab.check(f"the {type_} view")
        text = tab.main_text()
        for field, payload in SHOWN[id_].items():
            if field not in ("pretty_name", "title"):  # those two are the search hit's, shown above
                assert payload in text, (id_, field)
        for field, payload in NOT_SHOWN.get(id_, {}).items():  # the page got them, and left them out
            got = _card_data(tab, type_, id_)[field]
            assert got == payload, (id_, field, got)
        page.screenshot(path=str(ARTIFACTS / f"hostile-{type_}.png"), full_page=True)
        page.go_back()
        page.locator("#results").wait_for()

    # the model's tags, one element each, and its lineage: the valid base and dataset, not the hostile ones
    tab.goto(f"/#/repo/model/{MODEL}")
    tags = page.locator("ul.tags > li").all_text_contents()
    assert SHOWN[MODEL]["tag"] in tags, tags
    lineage = page.locator("ol.lineage > li").all_text_contents()
    assert lineage == [f"model {MODEL} fine-tuned from model {BASE}"], lineage  # not the hostile base
    # the graph kept the valid dataset and dropped the hostile one (lineage lists bases only)
    assert _edges(tab, "model", MODEL) >= {(f"model:{MODEL}", "finetune", f"model:{BASE}"),
                                           (f"model:{MODEL}", "trained_on", f"dataset:{DATASET}")}
    assert not any(WORD + "7" in dst or WORD + "8" in dst for _, _, dst in _edges(tab, "model", MODEL))
    files = page.locator("#files td.path").all_text_contents()
    assert EVIL_FILE in files, files
    tab.check("the model view, loaded directly")
    # a lineage link leads on; the Space's "uses" link back to the hostile model
    page.locator("ol.lineage").get_by_role("link", name=f"model {BASE}", exact=True).click()
    page.wait_for_function("(id) => document.querySelector('#repo-heading')?.textContent === id", arg=BASE)
    tab.settled()
    tab.check("the base model, reached by its lineage link")
    tab.goto(f"/#/repo/space/{SPACE}")
    uses = {(src, rel, dst) for src, rel, dst in _edges(tab, "space", SPACE) if src == f"space:{SPACE}"}
    assert uses == {(f"space:{SPACE}", "uses", f"model:{MODEL}"), (f"space:{SPACE}", "uses", f"dataset:{DATASET}")}, uses
    tab.check("the Space view, loaded directly")


def test_the_prototype_named_repo_is_an_ordinary_repo(tab: Tab) -> None:
    page = tab.page
    tab.goto(f"/#/repo/model/{PROTO}")
    assert page.locator("#repo-heading").text_content() == PROTO
    assert page.locator("a.hub").get_attribute("href") == f"https://huggingface.co/{PROTO}"
    assert page.locator("ol.lineage > li").all_text_contents() == [f"model {PROTO} fine-tuned from model {BASE}"]
    assert not re.search(r"\b(undefined|null|NaN|\[object)", tab.main_text()), tab.main_text()
    tab.check("constructor/__proto__")
    tab.goto(f"/#/repo/model/{BASE}")  # its derivative counted, by the base's view
    assert "2 known derivatives" in tab.main_text()
    tab.check("the base model")


# hash routes with hostile values in every part the page reads; each with the text it must show
HOSTILE_ROUTES = [
    ("/#/search?q=<img src=x onerror=window.__pwned=50>", "<img src=x onerror=window.__pwned=50>"),
    ('/#/search?q="><svg onload=window.__pwned=51>&type=model', '"><svg onload=window.__pwned=51>'),
    ("/#/search?q=<script>window.__pwned=52</script>&sort=<img src=x onerror=window.__pwned=53>"
     "&order=<svg onload=window.__pwned=54>", "<script>window.__pwned=52</script>"),  # sort: 422, in words
    ("/#/search?q=zxqpwned&page=<img src=x onerror=window.__pwned=55>&limit=<script>x</script>"
     "&size_gte=<svg onload=window.__pwned=56>&mirrored=<img src=x onerror=alert(57)>", None),
    ("/#/search?type=<img src=x onerror=window.__pwned=58>", "type: Input should be 'model'"),  # the API's 422
    ("/#/search?q={{constructor.constructor('window.__pwned=59')()}}", "{{constructor.constructor('window.__pwned=59')()}}"),
    ("/#/repo/model/<img src=x onerror=window.__pwned=60>", "<img src=x onerror=window.__pwned=60>"),
    ('/#/repo/model/evil/"><svg onload=window.__pwned=61>', '"><svg onload=window.__pwned=61>'),
    ("/#/repo/<script>window.__pwned=62</script>/x/y", "script>/x/y"),  # type "<script>…<", id after its "/"
    ("/#/repo/javascript:window.__pwned=63/x", "422"),  # a hostile type: refused, in words
    ("/#/repo/model/javascript:window.__pwned=63", "javascript:window.__pwned=63"),
    ("/#/repo/__proto__/constructor", "constructor"),
    ("/#/repo/constructor/toString", "toString"),
    ("/#<img src=x onerror=window.__pwned=64>", None),
    ("/#javascript:window.__pwned=65", None),
    ("/?q=<script>window.__pwned=66</script>#/search?q=%3Cimg%20src%3Dx%20onerror%3Dwindow.__pwned%3D67%3E",
     "<img src=x onerror=window.__pwned=67>"),
]


def test_hostile_hash_routes_show_what_they_carry_as_text(tab: Tab) -> None:
    for target, literal in HOSTILE_ROUTES:
        tab.goto(target)
        tab.check(target)
        if literal is not None:
            assert literal in tab.main_text() + tab.page.title(), (target, tab.main_text()[:300])
        tab.page.locator("#q").press("Enter")  # the form re-submits what it was filled with
        tab.settled()
        tab.check(f"{target}, submitted again")


def test_with_the_csp_on_the_views_raise_no_violation_and_mirrored_files_run_nothing(
        browser: Any, served: Served) -> None:  # noqa: F811 - the imported fixture
    """The page as served (its CSP on): no view needs what the policy forbids. A mirrored file
    opened on its own (the card, an SVG family tree) is sandboxed: nothing runs there either."""
    tab = Tab(browser, served, bypass_csp=False)
    try:
        tab.goto(f"/#/search?q={WORD}")
        tab.check("search, CSP on")
        for type_, id_ in (("model", MODEL), ("space", SPACE)):
            tab.goto(f"/#/repo/{type_}/{id_}")
            tab.check(f"{id_}, CSP on")
        for target in (f"/{MODEL}/resolve/main/README.md", f"/{MODEL}/resolve/main/{quote(EVIL_FILE)}",
                       f"/api/provenance/model/{MODEL}?format=svg", f"/api/entities/model/{MODEL}",
                       f"/spaces/{SPACE}/resolve/main/README.md"):
            response = tab.page.goto(target)
            assert response is not None and response.status == 200, target
            assert "sandbox" in response.headers["content-security-policy"], target
            assert tab.page.evaluate("window.__ran") == [], target
            assert not tab.problems, (target, tab.problems)
        assert MODEL in (tab.page.locator("body").text_content() or "")  # the entity JSON, shown as text
    finally:
        tab.close()


# -- serve binds loopback unless told otherwise ----------------------------------------------
def _proc_address(hex_address: str) -> str:
    """An address of /proc/net/tcp{,6} ("0100007F" is 127.0.0.1: 32-bit words in host order)."""
    raw = b"".join(bytes.fromhex(hex_address[i:i + 8])[::-1] for i in range(0, len(hex_address), 8))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def _listening_on(port: int) -> set[str]:
    """The local addresses the kernel has a listening TCP socket on ``port`` for (IPv4 and IPv6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: TCP_LISTEN
                found.add(_proc_address(address))
    return found


def _serve_listens_on(served: Served, *args: str) -> set[str]:
    proc, url = _start_serve(served.archive, *args)
    try:
        port = int(url.rsplit(":", 1)[1])
        deadline = time.monotonic() + 30
        while not (found := _listening_on(port)):  # bound first, listening once uvicorn has started
            assert proc.poll() is None and time.monotonic() < deadline, "serve never listened"
            time.sleep(0.05)
        return found
    finally:
        proc.kill()
        proc.communicate(timeout=30)


def test_proc_addresses_parse() -> None:
    assert _proc_address("0100007F") == "127.0.0.1" and _proc_address("00000000") == "0.0.0.0"
    assert _proc_address("00000000000000000000000001000000") == "::1"


def test_serve_listens_on_loopback_only_by_default_and_everywhere_when_told(served: Served) -> None:
    assert _serve_listens_on(served) == {"127.0.0.1"}
    assert _serve_listens_on(served, "--host", "0.0.0.0") == {"0.0.0.0"}
