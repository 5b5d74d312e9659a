"""The server against hostile input (issue 10, points 4 and 7): an archive whose cards, tags, file
names and repo ids carry script injection, served by the REAL app (page, JSON API, Hub routes,
trustless gateway) in a thread, and probed with hand-picked and hypothesis-generated paths and
query strings.

What must hold: no answer is a 5xx; no byte of a file outside the archive's content is ever sent
(sentinel files planted in, next to and above the output directory, and the package's own
sources); a path that only a traversal attempt sends is a 4xx; JSON is ``application/json``; a
mirrored file that a browser would run (HTML, SVG) cannot script the archive's origin; and in a
real browser (Debian's Chromium via Playwright) the page shows every hostile text literally and
runs none of it.

Requests go out through ``http.client`` with the target exactly as written (httpx would remove
the dot segments before sending them). Hypothesis is derandomized: CI runs the same cases.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hf_ipfs_scraper import Catalog, Mirror, load_config
from hf_ipfs_scraper.state import StateStore
from hf_ipfs_scraper.web import page
from hf_ipfs_scraper.web.app import create_app
from tests.hubemu import HubEmulator, Repo, RepoFile
from tests.hubemu.fixtures import HfEnv
from tests.test_web_hub import ServerThread
from tests.test_web_page import ARTIFACTS, browser, search  # noqa: F401 - the browser fixture

# -- the hostile archive ------------------------------------------------------------------------
# Each field gets its own marker, so a test can tell which one was shown (or ran).
def evil(n: int) -> str:
    """Markup that sets ``window.__pwned`` to ``n`` if it is ever parsed as HTML (or run)."""
    return f'"><img src=x onerror="window.__pwned={n}"><script>window.__pwned={n}</script>'


def evil_yaml(n: int) -> str:
    return evil(n).replace('"', "'")  # the same, inside a double-quoted YAML scalar


WORD = "zxqpwned"  # the search word: in every hostile README, nowhere else
SECRET = b"SENTINEL-7f3a9c-NEVER-SERVE"
README = f"""---
license: "{evil_yaml(1)}"
pretty_name: "{evil_yaml(2)}"
title: "{evil_yaml(3)}"
tags:
- "{evil_yaml(4)}"
base_model: evil/hostile-base
---
# {evil(5)}

The {WORD} text <script>window.__pwned=6</script> and <img src=x onerror=window.__pwned=7> and
<svg onload=window.__pwned=8> and &lt;b&gt; and </mark><b>{WORD}</b> and javascript:window.__pwned=9.
"""
EVIL_FILE = "docs/<img src=x onerror=window.__pwned=10>.txt"
EVIL_ID = 'evil/x"><img src=x onerror="window.__pwned=11"><script>window.__pwned=11<' + "script>"
PAGE_HTML = b"<html><body><script>window.__pwned=12; document.title='ran'</script>ok</body></html>"
PAGE_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>window.__pwned=13</script></svg>'


def _repos() -> list[Repo]:
    card = RepoFile("README.md", README.encode())
    return [
        Repo("model", "evil/hostile-model", [card, RepoFile(EVIL_FILE, b"hi"), RepoFile("page.html", PAGE_HTML),
                                              RepoFile("pic.svg", PAGE_SVG)],
             trending_score=30, tags=[evil(14)], pipeline_tag=evil(15), library_name=evil(16)),
        Repo("model", "evil/hostile-base", [RepoFile("README.md", b"# base\n")], trending_score=20),
        Repo("dataset", "evil/hostile-data", [card], trending_score=10),
        Repo("space", "evil/hostile-space", [card, RepoFile("index.html", PAGE_HTML)], trending_score=10,
             sdk=evil(17)),
    ]


@dataclass
class Hostile:
    out: Path
    server: ServerThread
    secrets: list[bytes]  # what no response may contain
    repo_sha: str


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    root = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as mp, HubEmulator(_repos()) as emu:
        HfEnv(mp, root / "hf-home").use(emu)
        config = load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(root / "out")})
        with Mirror(config) as mirror:
            summaries = mirror.scrape_all({"model": 5, "dataset": 5, "space": 5})
            assert all(s.failed == 0 and s.mirrored >= 1 for s in summaries), [str(s) for s in summaries]
            emu.add_repo(Repo("model", EVIL_ID, [RepoFile("README.md", f"# {WORD}\n".encode())], trending_score=5))
            walked, = mirror.catalog(["model"])
            assert [id_ for id_, _ in walked.refused] == [EVIL_ID]  # a listing's id that is no repo id: refused
    out = config.output_dir
    with StateStore(out / "state.sqlite") as state:  # an archive of an older version, or edited by hand
        state.upsert_discovered("model", EVIL_ID, None, metadata={"id": EVIL_ID})
    for place in (root, out, out / "ipfs", out.parent.parent):  # next to, inside and above the output dir
        (place / "secret.txt").write_bytes(SECRET)
    secrets = [SECRET, (out / "state.sqlite").read_bytes()[:16],  # b"SQLite format 3\0"
               b"STATIC_DIR = Path(", b"root:x:0:0"]  # web/page.py's source; /etc/passwd
    with Catalog(out) as catalog:
        entity = catalog.entity("model", "evil/hostile-model")
        assert entity is not None and entity.sha and catalog.entity("model", EVIL_ID) is not None
        sha = entity.sha
    with ServerThread(create_app(out, gateway=True)) as running:
        yield Hostile(out, running, secrets, sha)


class Raw:
    """``http.client`` on one kept-alive connection: the request target is sent as written."""

    def __init__(self, url: str) -> None:
        self.host, self.port = url.removeprefix("http://").split(":")
        self.conn: http.client.HTTPConnection | None = None

    def get(self, target: str, method: str = "GET", headers: dict[str, str] | None = None
            ) -> tuple[int, dict[str, str], bytes]:
        for attempt in (1, 2):  # the server may close a kept-alive connection after an error answer
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
            try:
                self.conn.request(method, target, headers=headers or {})
                response = self.conn.getresponse()
                body = response.read()
            except BaseException as exc:
                self.conn.close()
                self.conn = None
                if attempt == 2 or not isinstance(exc, (ConnectionError, http.client.BadStatusLine)):
                    raise
                continue
            if response.getheader("connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


@pytest.fixture(scope="module")
def raw(hostile: Hostile) -> Iterator[Raw]:
    client = Raw(hostile.server.url)
    yield client
    client.close()


def _assert_safe(hostile: Hostile, target: str, status: int, body: bytes) -> None:
    assert status < 500, (target, status, body[:300])
    for secret in hostile.secrets:
        assert secret not in body, (target, secret)


def _fetch(hostile: Hostile, raw: Raw, target: str) -> int:
    """The final status of ``target`` (Starlette's trailing-slash redirects followed, on this
    server only), every answer on the way checked by :func:`_assert_safe`."""
    for _ in range(3):
        status, headers, body = raw.get(target)
        _assert_safe(hostile, target, status, body)
        if status not in (307, 308):
            return status
        location = headers["location"]
        assert location.startswith((hostile.server.url + "/", "/")), (target, location)
        target = location.removeprefix(hostile.server.url)
    raise AssertionError(f"{target}: redirected more than twice")


def _traversal(path: str) -> bool:
    """What the server sees (percent-decoded) holds a segment or character only a traversal sends."""
    from urllib.parse import unquote

    seen = unquote(path, errors="replace")
    return "\\" in seen or "\0" in seen or any(s in (".", "..") for s in seen.split("/"))


# -- 1. path traversal: every route that takes a path, a repo id, a revision or a CID -------------
MODEL, DATASET, SPACE = "evil/hostile-model", "evil/hostile-data", "evil/hostile-space"
# "{p}" is where the hostile text goes; {cid} is the hostile model's root
PATH_ROUTES = [
    f"/{MODEL}/resolve/main/{{p}}", f"/datasets/{DATASET}/resolve/main/{{p}}", f"/spaces/{SPACE}/resolve/main/{{p}}",
    f"/{MODEL}/resolve/{{p}}/README.md", "/{p}/resolve/main/README.md", "/datasets/{p}/resolve/main/README.md",
    f"/api/models/{MODEL}/tree/main/{{p}}", f"/api/datasets/{DATASET}/tree/main/{{p}}",
    f"/api/spaces/{SPACE}/tree/{{p}}", f"/api/models/{MODEL}/revision/{{p}}", "/api/models/{p}",
    "/api/spaces/{p}/tree/main", "/ipfs/{cid}/{p}?format=car", "/ipfs/{p}?format=raw", "/static/{p}",
    "/api/entities/model/{p}", "/api/provenance/dataset/{p}?format=svg", "/api/jobs/{p}/models", "/{p}",
]
HAND_PICKED = [
    "..", "../..", "../../secret.txt", "../../../secret.txt", "%2e%2e/%2e%2e/secret.txt", "%2E%2E%2F%2E%2E%2Fsecret.txt",
    "..%2f..%2fsecret.txt", "..%5c..%5csecret.txt", "..\\..\\secret.txt", "%252e%252e%252fsecret.txt",
    "/etc/passwd", "%2Fetc%2Fpasswd", "//etc/passwd", "....//....//secret.txt", "README.md%00.txt", "%00",
    "secret.txt", "ipfs/secret.txt", "state.sqlite", "../state.sqlite", "..%2fstate.sqlite", "%c0%ae%c0%ae/secret.txt",
    "%c0%af", "%e0%80%ae%e0%80%ae/secret.txt", "%ef%bc%8e%ef%bc%8e/secret.txt", "%e2%80%a5/secret.txt", "%ff%fe",
    "..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "a/" * 200 + "x", "x" * 8000, "%2e", ".", "./README.md",
    "..%2fpage.py", "%2e%2e%2fpage.py", "..%2f..%2fweb%2fpage.py", "C:%5cWindows%5cwin.ini", "file:%2f%2f%2fetc%2fpasswd",
]
SEGMENTS = st.sampled_from([
    "..", ".", "", "%2e%2e", "%2E%2e", "%2e", "..%2f", "..%5c", "%5c", "%2f", "%00", "\\", "secret.txt", "state.sqlite",
    "ipfs", "out", "etc", "passwd", "README.md", "page.py", "%c0%ae", "%ef%bc%8e", "%e2%80%a5", "%ff", "%252e%252e",
    "docs", "x" * 300, "~", "C:", "%u002e",
])
HOSTILE_PATHS = st.one_of(
    st.lists(SEGMENTS, min_size=1, max_size=8).map("/".join),
    st.tuples(st.sampled_from(["", "/", "//"]), st.lists(SEGMENTS, max_size=6).map("/".join)).map("".join),
    st.text(max_size=60).map(lambda s: quote(s, safe="/.%")),
    st.binary(min_size=1, max_size=24).map(lambda b: "".join(f"%{c:02x}" for c in b)),
)


def _fill(route: str, cid: str, p: str) -> str:
    return route.replace("{cid}", cid).replace("{p}", p)


@pytest.fixture(scope="module")
def root_cid(hostile: Hostile) -> str:
    with Catalog(hostile.out) as catalog:
        entity = catalog.entity("model", MODEL)
        assert entity is not None and entity.root_cid
        return entity.root_cid


def test_hand_picked_traversals_are_4xx_and_never_leak(hostile: Hostile, raw: Raw, root_cid: str) -> None:
    for route in PATH_ROUTES:
        for p in HAND_PICKED:
            target = _fill(route, root_cid, p)
            status = _fetch(hostile, raw, target)
            if route != "/static/{p}" or p != "":
                assert 400 <= status < 500, (target, status)


@given(route=st.sampled_from(PATH_ROUTES), p=HOSTILE_PATHS)
@settings(max_examples=600, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_generated_paths_never_5xx_never_leak_and_traversals_are_4xx(
        hostile: Hostile, raw: Raw, root_cid: str, route: str, p: str) -> None:
    target = _fill(route, root_cid, p)
    status = _fetch(hostile, raw, target)
    if _traversal(p):
        assert 400 <= status < 500, (target, status)


# -- 2. every query parameter (and the headers that act as parameters) ---------------------------
# route -> the names it reads; each also gets names it does not know
QUERY_ROUTES = {
    "/api/search": ["q", "type", "size_gte", "size_lte", "tag", "pipeline_tag", "library", "author", "gated",
                    "mirrored", "run", "sort", "order", "limit", "page"],
    "/api/jobs": ["limit", "page", "key", "status"],
    "/api/jobs/1/models": ["limit", "page", "search", "sort", "sizeGte", "sizeLte"],
    f"/api/provenance/model/{MODEL}": ["format", "max_nodes"],
    f"/api/entities/model/{MODEL}": [],
    "/api/health": [],
    f"/api/models/{MODEL}": ["blobs", "expand"],
    f"/api/spaces/{SPACE}/revision/main": ["blobs", "expand"],
    f"/api/models/{MODEL}/tree/main": ["recursive", "cursor", "expand"],
    f"/api/datasets/{DATASET}/tree/main/": ["recursive", "cursor"],
    "/ipfs/{cid}": ["format", "filename", "dag-scope", "entity-bytes", "car-version", "car-order", "car-dups"],
    "/ipfs/{cid}/README.md": ["format", "dag-scope", "entity-bytes", "car-dups", "car-order"],
}
HOSTILE_VALUES = st.one_of(
    st.sampled_from([
        "", "0", "-1", "1", "2", "-0", "00000000000000000001", "9" * 400, "-" + "9" * 400, "9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616", "1e309", "-1e309", "1e-400", "NaN",
        "nan", "inf", "-inf", "Infinity", "0x10", "1_000", " 1", "1 ", "1.5", "true", "TRUE", "false", "yes", "on",
        "null", "None", "[]", "{}", "%ff", "%c0%80", "%ed%a0%80", "%00", "%0d%0aX-Evil:%201", "a" * 3000,
        "raw", "car", "json", "svg", "png", "block", "entity", "all", "0:*", "*:0", "-5:-1", "99999999999999999999:*",
        "1", "dfs", "unk", "y", "n", "2", "-rank", "--likes", "rank", "size", "relevance", "desc", "asc", "model",
        "dataset", "space", "models", "completed", "(", ")", '"', "*", ":", "title:", "readme:*", "a:b:c", "AND", "OR",
        "NOT", "[a TO b]", "{a TO b}", "^2", "~", "\\", "-", "+", "(" * 300, "a " * 400, "NOT NOT NOT", "title:(",
        "size_bytes:>5", evil(20), "eyJ4Ijox", "WzFd", "Wy0xXQ", "WzEuNV0", "W10", "WyJhIl0", "WzFlOTk5XQ",
    ]).map(lambda s: quote(s, safe="%")),  # the "%.." above are sent as they are: invalid UTF-8 on purpose
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=40).map(lambda s: quote(s, safe="")),
    st.binary(min_size=1, max_size=12).map(lambda b: "".join(f"%{c:02x}" for c in b)),
)
RANGE_VALUES = [
    "bytes=0-0", "bytes=-1", "bytes=-0", "bytes=5-1", "bytes=0-", "bytes=99999999999999999999-", "bytes=-99999999999999999999",
    "bytes=0-0,1-1", "bytes=", "bytes=-", "bits=0-1", "bytes=1-2-3", "bytes= 0-1", "bytes=\u00e9", "bytes=0-" + "9" * 300,
]
RANGES = st.one_of(st.none(), st.sampled_from(RANGE_VALUES))
ACCEPTS = st.one_of(st.none(), st.sampled_from([
    "application/vnd.ipld.car", "application/vnd.ipld.raw", "application/vnd.ipld.car;version=2",
    "application/vnd.ipld.car; q=NaN", "application/vnd.ipld.car;q=9e999", "*/*", ";;;,,,", "text/html",
    "application/vnd.ipld.car; order=dfs; dups=x", "application/vnd.ipld.raw;q=-1, application/vnd.ipld.car;q=0",
]))


@st.composite
def _queries(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    route = draw(st.sampled_from(sorted(QUERY_ROUTES)))
    names = st.one_of(st.sampled_from(QUERY_ROUTES[route] or ["x"]), st.text(min_size=1, max_size=10))
    pairs = draw(st.lists(st.tuples(names, HOSTILE_VALUES), max_size=6))
    if pairs and draw(st.booleans()):  # one parameter repeated
        pairs += [(pairs[0][0], draw(HOSTILE_VALUES)) for _ in range(draw(st.integers(1, 30)))]
    return route, pairs


def _query_string(pairs: list[tuple[str, str]]) -> str:
    # values are already percent-encoded (invalid UTF-8 included); names are encoded here
    return "&".join(f"{quote(name, safe='')}={value}" for name, value in pairs)


@given(query=_queries(), byte_range=RANGES, accept=ACCEPTS)
@settings(max_examples=700, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_generated_query_strings_and_headers_never_5xx(
        hostile: Hostile, raw: Raw, root_cid: str, query: tuple[str, list[tuple[str, str]]],
        byte_range: str | None, accept: str | None) -> None:
    route, pairs = query
    target = route.replace("{cid}", root_cid) + "?" + _query_string(pairs)
    headers = {k: v for k, v in (("Range", byte_range), ("Accept", accept)) if v is not None}
    status, got, body = raw.get(target, headers=headers)
    _assert_safe(hostile, target, status, body)
    if got.get("content-type", "").startswith("application/json"):
        json.loads(body)  # a JSON answer, even an error, is JSON


def test_every_range_header_on_a_file_is_an_answer_the_hub_gives(hostile: Hostile, raw: Raw) -> None:
    for route in (f"/{MODEL}/resolve/main/README.md", f"/spaces/{SPACE}/resolve/{hostile.repo_sha}/README.md"):
        for byte_range in RANGE_VALUES:
            status, headers, body = raw.get(route, headers={"Range": byte_range})
            _assert_safe(hostile, route, status, body)
            assert status in (200, 206, 404, 416), (route, byte_range, status)


# -- 3. escaping: the API's answers ---------------------------------------------------------------
class _Markup(HTMLParser):
    """The elements and the text of an HTML fragment, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


def _json(raw: Raw, target: str, status: int = 200) -> Any:
    got, headers, body = raw.get(target)
    assert got == status, (target, got, body[:300])
    assert headers["content-type"] == "application/json", (target, headers["content-type"])
    assert headers.get("x-content-type-options") == "nosniff", target
    return json.loads(body)


def test_json_answers_carry_the_hostile_text_verbatim_and_snippets_mark_only_words(hostile: Hostile, raw: Raw) -> None:
    hits = {h["id"]: h for h in _json(raw, f"/api/search?q={WORD}")["data"]}
    assert set(hits) == {MODEL, DATASET, SPACE}
    assert (hits[MODEL]["pipeline_tag"], hits[MODEL]["library_name"]) == (evil(15), evil(16))
    assert {h["title"] for h in hits.values()} == {evil_yaml(3)}
    for hit in hits.values():  # the snippet is HTML: <mark> is its only element; all else is its text
        markup = _Markup()
        markup.feed(hit["snippet"])
        assert markup.tags == {"mark"}, hit["snippet"]
        for literal in ("<script>window.__pwned=6</script>", "<img src=x onerror=window.__pwned=7>",
                        "<svg onload=window.__pwned=8>", "&lt;b&gt;", f"</mark><b>{WORD}</b>"):
            assert literal in markup.text, (literal, markup.text)
    found = _json(raw, f"/api/entities/model/{MODEL}")
    assert found["entity"]["license"] == evil_yaml(1) and evil(14) in found["entity"]["tags"]
    assert found["entity"]["card_data"]["pretty_name"] == evil_yaml(2)
    assert EVIL_FILE in [f["path"] for f in found["files"]]
    assert _json(raw, f"/api/entities/space/{SPACE}")["entity"]["sdk"] == evil(17)
    assert _json(raw, f"/api/entities/model/{quote(EVIL_ID)}")["entity"]["id"] == EVIL_ID
    assert evil(21) in _json(raw, f"/api/entities/model/evil/{quote(evil(21))}", 404)["detail"]
    assert [i["path"] for i in _json(raw, f"/api/models/{MODEL}/tree/main/docs")] == [EVIL_FILE]
    status, headers, body = raw.get(f"/{MODEL}/resolve/main/{quote(evil(22))}")
    assert (status, headers["content-type"], json.loads(body)) == (404, "application/json", {"error": "Entry not found"})


def test_the_family_tree_picture_holds_hostile_ids_as_text_only(hostile: Hostile, raw: Raw) -> None:
    for key in (f"model/{quote(EVIL_ID)}", f"model/{MODEL}"):
        status, headers, body = raw.get(f"/api/provenance/{key}?format=svg")
        assert (status, headers["content-type"]) == (200, "image/svg+xml"), key
        tree = ElementTree.fromstring(body)  # well-formed: nothing broke out of its attribute or element
        names = {element.tag.rsplit("}", 1)[-1] for element in tree.iter()}
        assert not names & {"script", "foreignObject", "iframe", "a"}, names
        assert not [a for e in tree.iter() for a in e.attrib if a.lower().startswith("on")]
    assert EVIL_ID in ElementTree.fromstring(raw.get(f"/api/provenance/model/{quote(EVIL_ID)}?format=svg")[2]).findtext(
        "{http://www.w3.org/2000/svg}title", "")


def test_a_mirrored_html_or_svg_file_cannot_script_the_archive_origin(hostile: Hostile, raw: Raw) -> None:
    """A repo's ``index.html`` or ``.svg`` is served inline with its own type (as the Hub does, so
    the client's bytes and headers match), but sandboxed: in a browser it runs no script and has
    no access to the page's origin."""
    for target in (f"/{MODEL}/resolve/main/page.html", f"/{MODEL}/resolve/main/pic.svg",
                   f"/spaces/{SPACE}/resolve/main/index.html"):
        status, headers, body = raw.get(target)
        assert status == 200 and body in (PAGE_HTML, PAGE_SVG), target
        assert "sandbox" in headers["content-security-policy"].split(";")[-1].strip().split(), headers
        assert headers["x-content-type-options"] == "nosniff"
