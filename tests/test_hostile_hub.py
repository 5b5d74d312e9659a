"""The mirror against a hostile Hub (issue 10, point 4): listings with ids that are no repo ids,
trees naming paths outside the repo, sizes that lie, pages that loop, card data with broken
text, absurd nesting and wrong types, lineage cycles, a 50 MB README and READMEs that are not
UTF-8. Driven with the real ``huggingface_hub`` client against the emulator, whose answers
``tests/hubemu/hostile.py`` rewrites after the fact.

What must hold: nothing is written outside the output directory; the run completes and the
ordinary repos in it are archived; each hostile one is refused, failed with a reason a user can
read, or archived with the bad part left out and said why; the trending list holds each repo
once; every file written parses; and status, export, search and the family tree still work on
the archive afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from hf_ipfs_scraper import Catalog
from hf_ipfs_scraper.layout import entity_dir
from hf_ipfs_scraper.mirror import Mirror
from hf_ipfs_scraper.records import MAX_CARD_DEPTH, TOO_DEEP
from tests.hubemu import HubEmulator, Repo, RepoFile
from tests.hubemu.hostile import chain, deep_json, edit_json, loop_pages, replace_body
from tests.hubemu.wire import Request
from tests.test_cli_mirror import CLI, one_error_line
from tests.test_mirror_e2e import dir_cid, make_config, options

OID = "0" * 40


def _model(repo_id: str, score: int, *files: RepoFile, **fields: Any) -> Repo:
    files = files or (RepoFile("README.md", f"# {repo_id}\n".encode()), RepoFile("config.json", b"{}\n"))
    return Repo("model", repo_id, list(files), trending_score=score, **fields)


def _files_outside(root: Path, inside: tuple[Path, ...]) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` but outside ``inside``, with its size and mtime."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and not any(path.is_relative_to(p) for p in inside):
            stat = path.stat()
            found[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return found


def _for_repo(repo_id: str) -> Callable[[Request], bool]:
    return lambda request: f"/{repo_id}/" in request.path or request.path.endswith(f"/{repo_id}")


# -- listings and trees ------------------------------------------------------------------------
NFC, NFD = unicodedata.normalize("NFC", "café.txt"), unicodedata.normalize("NFD", "café.txt")
ODD_NAMES = [RepoFile("README.md", b"# odd names\n"), RepoFile("back\\slash.txt", b"a backslash is a name\n"),
             RepoFile("Case.txt", b"upper\n"), RepoFile("case.txt", b"lower\n"),
             RepoFile(NFC, b"composed\n"), RepoFile(NFD, b"decomposed\n")]
UNSAFE = ["../escape.txt", "/etc/passwd", "a/../../b.txt", "./dot.txt", "a//b.txt", "nul\0.txt",
          "n" * 256, "n" * 4096, "deep/" * 900 + "x", "\ud800.txt"]
INVALID_IDS = ["..", "../../etc", "owner/" + "a" * 300, "/etc/passwd", "a/b/c", "bad--name/x", 42]


def _hostile_listing(request: Request, page: Any) -> Any:
    """The trending page with entries that are no repo ids, and its first repo listed again."""
    if not isinstance(page, list) or not page:
        return page
    junk = [{**page[0], "id": bad, "modelId": bad} for bad in INVALID_IDS]
    return [page[0], *junk[:3], *page[1:], *junk[3:], dict(page[0])]


def _hostile_tree(request: Request, entries: Any) -> Any:
    if "/odd/tree/" not in request.path:
        return entries
    return entries + [{"type": "file", "path": path, "size": 5, "oid": OID} for path in UNSAFE]


def _lying_sizes(request: Request, entries: Any) -> Any:
    """``lies/short`` lists its weights 1000 bytes shorter than served, ``lies/long`` a TB longer."""
    for repo_id, delta in (("lies/short", -1000), ("lies/long", 1 << 40)):
        if f"/{repo_id}/" in request.path:
            for entry in entries:
                if entry["path"] == "weights.bin":
                    entry["size"] += delta
                    if "lfs" in entry:
                        entry["lfs"]["size"] += delta
    return entries


@pytest.fixture
def hostile_run(hf_env, hub_factory, tmp_path) -> tuple[HubEmulator, Path, Any]:
    weights = os.urandom(5000)
    corpus = [
        _model("ok/one", 90), _model("ok/two", 80),
        _model("a__b/c", 70), _model("a/b__c", 69),  # one folder each, though "/" is written "__"
        _model("odd/names", 60, *ODD_NAMES),
        _model("odd/tree", 50),
        _model("lies/short", 40, RepoFile("README.md", b"# short\n"), RepoFile("weights.bin", weights)),
        _model("lies/long", 30, RepoFile("README.md", b"# long\n"), RepoFile("weights.bin", weights[::-1])),
    ]
    emu = hub_factory(corpus)
    emu.tamper = chain(edit_json("list", _hostile_listing), edit_json("tree", _hostile_tree),
                       edit_json("tree", _lying_sizes))
    hf_env.use(emu)
    root = tmp_path / "root"
    out = root / "archive" / "out"
    out.mkdir(parents=True)
    for place in (root, root / "archive"):
        (place / "sentinel.txt").write_text("untouched")
    before = _files_outside(tmp_path, (out, tmp_path / "hf-home"))
    config = make_config(emu, out, filters__max_repo_size=0, filters__max_file_size=0)
    with Mirror(config) as mirror:
        summary = mirror.scrape("model", limit=20)
    assert _files_outside(tmp_path, (out, tmp_path / "hf-home")) == before  # nothing written outside
    assert not [p for p in tmp_path.rglob("*") if p.name in ("escape.txt", "passwd", "b.txt", "dot.txt")]
    return emu, out, summary


def test_hostile_ids_are_refused_and_the_rest_of_the_listing_is_archived_each_once(hostile_run) -> None:
    emu, out, summary = hostile_run
    assert summary.status == "completed" and summary.error is None, str(summary)
    refused = dict(summary.refused)
    assert set(refused) == {str(i) for i in INVALID_IDS} | {"ok/one"}, refused
    assert refused["ok/one"] == "listed again"
    assert refused["42"] == "the id is a int, not text", refused
    assert all(why.startswith("not a valid repo id: ") for id_, why in refused.items() if id_ not in ("ok/one", "42"))
    assert "refused" in str(summary)
    with Catalog(out) as catalog:
        done = {e.id for e in catalog.entities("model", status="done")}
        assert {"ok/one", "ok/two", "a__b/c", "a/b__c", "odd/names", "odd/tree"} <= done, done
        trending = [row.id for row in catalog.trending("model")]
        assert len(trending) == len(set(trending)) == 8 and trending[0] == "ok/one", trending
        assert not {str(i) for i in INVALID_IDS} & {e.id for e in catalog.entities("model")}
    folders = {entity_dir(out, "model", i) for i in ("a__b/c", "a/b__c")}
    assert len(folders) == 2 and all(json.loads((f / "metadata.json").read_text())["id"] for f in folders)
    assert {json.loads((f / "metadata.json").read_text())["id"] for f in folders} == {"a__b/c", "a/b__c"}


def test_unsafe_tree_paths_are_left_out_and_said_why_and_odd_real_names_are_kept(hostile_run, tmp_path) -> None:
    emu, out, summary = hostile_run
    meta = json.loads((entity_dir(out, "model", "odd/tree") / "metadata.json").read_text())
    excluded = meta["ipfs"]["excluded"]
    assert set(excluded) == {p.encode("utf-16", "surrogatepass").decode("utf-16", "replace") if p.startswith("\ud800")
                             else p for p in UNSAFE} or len(excluded) == len(UNSAFE), excluded
    assert all(why.startswith("unsafe path: ") for why in excluded.values()), excluded
    assert meta["ipfs"]["files"] == 2  # README.md and config.json: what the repo really holds
    unsafe_asked = [t for _, t, _ in emu.requests if "escape" in t or "passwd" in t or "nul" in t]
    assert not unsafe_asked, unsafe_asked  # never downloaded
    # the backslash, the two cases and both normal forms are five files, and the repo's CID is
    # the one ``ipfs add -r`` gives the same five names written to a folder
    with Catalog(out) as catalog:
        names = {f.path for f in catalog.files("model", "odd/names")}
        assert names == {f.path for f in ODD_NAMES}, names
        entity = catalog.entity("model", "odd/names")
        assert entity is not None
        opts = options(make_config(emu, out))
        assert entity.root_cid == dir_cid(ODD_NAMES, tmp_path / "odd-names", opts)


def test_sizes_that_lie_fail_the_repo_with_the_reason_and_bounded_downloads(hostile_run) -> None:
    emu, out, summary = hostile_run
    failures = dict(summary.failures)
    assert set(failures) == {"lies/short", "lies/long"}, failures
    assert "weights.bin" in failures["lies/short"] and "more than the" in failures["lies/short"], failures
    assert "weights.bin" in failures["lies/long"] and "bytes, the Hub lists" in failures["lies/long"], failures
    served = sum(1 for _, target, _ in emu.requests if "weights.bin" in target)
    assert served <= 16, served  # asked a few times (a short body may be a cut connection), not forever
    with Catalog(out) as catalog:
        for id_ in ("lies/short", "lies/long"):
            entity = catalog.entity("model", id_)
            assert entity is not None and entity.status == "failed" and entity.root_cid is None, entity


def test_the_archive_works_after_a_hostile_run(hostile_run, hf_env, tmp_path) -> None:
    emu, out, summary = hostile_run
    for path in out.rglob("*.json"):
        json.loads(path.read_bytes())  # every JSON file written parses
    env = hf_env.subprocess_env(emu)
    for args in (["status"], ["search", "odd"], ["export", "--output", str(tmp_path / "export")]):
        result = subprocess.run([*CLI, "--output-dir", str(out), *args], env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    table = pq.read_table(tmp_path / "export" / "all_entities.parquet")
    assert {"odd/names", "odd/tree", "a__b/c", "a/b__c"} <= set(table.column("id").to_pylist())


# -- pages that loop, JSON that cannot be read -----------------------------------------------
def test_a_tree_whose_pages_loop_fails_that_repo_and_only_it(hf_env, hub_factory, tmp_path) -> None:
    many = [RepoFile(f"f{i}.txt", f"{i}\n".encode()) for i in range(5)]
    emu = hub_factory([_model("ok/one", 90), _model("loop/tree", 80, *many)], tree_page_size=2)
    emu.tamper = loop_pages("tree", path_contains="/loop/tree/")
    hf_env.use(emu)
    with Mirror(make_config(emu, tmp_path / "out")) as mirror:
        summary = mirror.scrape("model", limit=5)
    assert summary.status == "completed", str(summary)
    failures = dict(summary.failures)
    assert set(failures) == {"loop/tree"} and "twice" in failures["loop/tree"], failures
    assert emu.counts["tree"] < 40, emu.counts  # stopped, not followed round and round


@pytest.mark.parametrize(("body", "expected"), [
    (deep_json(5000), "nests deeper"),
    (b"[\xff\xfe not utf-8", "not JSON"),
])
def test_a_listing_that_cannot_be_read_fails_the_run_in_one_line(hf_env, hub_factory, tmp_path, body, expected) -> None:
    emu = hub_factory([_model("ok/one", 90)])
    emu.tamper = replace_body("list", body)
    out = tmp_path / "out"
    result = subprocess.run([*CLI, "--output-dir", str(out), "models", "--limit", "5"],
                            env=hf_env.subprocess_env(emu), capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    line = one_error_line(result) if "Error:" in result.stderr else result.stdout.splitlines()[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert expected in line, (line, result.stderr)
    with Catalog(out) as catalog:
        assert catalog.runs()[0].status == "failed"


# -- card data: broken text, nesting, wrong types, script; lineage cycles ------------------------
def _nest(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"d": value}
    return value


HOSTILE_CARDS: dict[str, Any] = {
    "card/surrogates": {"license": "mit\ud800", "pretty_name": "half a pair \udc00 here", "tags": ["\ud83d"],
                        "\ud800key": "value"},
    "card/deep": {"license": "mit", "deep": _nest(400)},  # JSON past ~900 levels: the listing fails, above
    "card/types": {"license": ["mit", {"x": 1}], "base_model": {"not": "a repo id!"}, "datasets": {"not": "a list"},
                   "tags": "one-string", "pipeline_tag": 7, "language": None, "model-index": "nope"},
    "card/script": {"license": "<script>alert(1)</script>", "pretty_name": "'); DROP TABLE entities;--",
                    "base_model": "javascript:alert(1)"},
}


def _hostile_cards(request: Request, payload: Any) -> Any:
    for item in payload if isinstance(payload, list) else [payload]:
        if isinstance(item, dict) and item.get("id") in HOSTILE_CARDS:
            item["cardData"] = HOSTILE_CARDS[item["id"]]
    return payload


def test_hostile_card_data_is_stored_mended_and_lineage_cycles_end(hf_env, hub_factory, tmp_path) -> None:
    cycle = [_model("cycle/a", 20, RepoFile("README.md", b"---\nbase_model: cycle/b\n---\n# a\n")),
             _model("cycle/b", 19, RepoFile("README.md", b"---\nbase_model: cycle/a\n---\n# b\n"))]
    emu = hub_factory([_model(i, 50 - n) for n, i in enumerate(HOSTILE_CARDS)] + cycle)
    emu.tamper = chain(edit_json("list", _hostile_cards), edit_json("info", _hostile_cards))
    hf_env.use(emu)
    out = tmp_path / "out"
    with Mirror(make_config(emu, out)) as mirror:
        summary = mirror.scrape("model", limit=10)
    assert summary.status == "completed" and summary.failed == 0, str(summary)
    with Catalog(out) as catalog:
        assert {e.id for e in catalog.entities("model", status="done")} == set(HOSTILE_CARDS) | {"cycle/a", "cycle/b"}
        surrogates = catalog.entity("model", "card/surrogates")
        assert surrogates is not None and surrogates.card_data is not None
        assert surrogates.card_data["license"] == "mit\ufffd" and surrogates.license == "mit\ufffd"
        assert "\ufffdkey" in surrogates.card_data
        deep = catalog.entity("model", "card/deep")
        assert deep is not None and deep.card_data is not None
        level, depth = deep.card_data["deep"], 1
        while isinstance(level, dict):
            level, depth = level["d"], depth + 1
        assert level == TOO_DEEP and depth <= MAX_CARD_DEPTH, (level, depth)
        script = catalog.entity("model", "card/script")
        assert script is not None and script.license == "<script>alert(1)</script>"  # kept as text
        assert catalog.provenance.parents("model:card/types") == []  # a mapping holding no repo id
        assert catalog.provenance.parents("model:card/script") == []
        # the cycle: one of its two edges is kept, so every walk up or down the lineage ends
        lineage = catalog.provenance.lineage("model:cycle/a") + catalog.provenance.lineage("model:cycle/b")
        assert len(lineage) == 1 and len(lineage[0]) == 1, lineage
        family = catalog.provenance.family("model:cycle/a")
        assert set(family) == {"model:cycle/a", "model:cycle/b"}
        catalog.draw_family("model:cycle/a", tmp_path / "cycle.svg")
        assert (tmp_path / "cycle.svg").read_bytes().lstrip().startswith((b"<?xml", b"<svg"))
        assert "card/surrogates" in {h.id for h in catalog.search("surrogates").hits}
        exported = catalog.export(tmp_path / "export")
    table = pq.read_table(exported.directory / "all_entities.parquet")
    rows = {row["id"]: row for row in table.to_pylist()}
    assert set(rows) == set(HOSTILE_CARDS) | {"cycle/a", "cycle/b"}
    assert rows["card/surrogates"]["license"] == "mit\ufffd", rows["card/surrogates"]["license"]


WRONG_TYPES = {"downloads": "many", "likes": [1], "trendingScore": "hot", "usedStorage": {"bytes": 1},
               "pipeline_tag": 5, "library_name": ["transformers"], "tags": ["kept", 7, None]}


def _wrong_types(request: Request, body: Any) -> Any:
    """``types/wrong`` with a value of the wrong type in each of those fields, listed and in its info."""
    for entry in body if isinstance(body, list) else [body]:
        if isinstance(entry, dict) and entry.get("id") == "types/wrong":
            entry.update(WRONG_TYPES)
    return body


def test_values_of_the_wrong_type_are_recorded_as_unknown_and_said(hf_env, hub_factory, tmp_path, caplog) -> None:
    """A count that is a list, a score that is a text...: one such entry stopped the whole run (the
    state store cannot bind a list) or the export (a text column cannot hold an int)."""
    emu = hub_factory([_model("types/fine", 90, downloads=7), _model("types/wrong", 80, downloads=3)])
    emu.tamper = chain(edit_json("list", _wrong_types), edit_json("info", _wrong_types))
    hf_env.use(emu)
    out = tmp_path / "out"
    with caplog.at_level("WARNING", logger="hf_ipfs_scraper.records"), Mirror(make_config(emu, out)) as mirror:
        summary = mirror.scrape("model", limit=10)
    assert summary.status == "completed" and summary.mirrored == 2 and summary.failed == 0, str(summary)
    said = " ".join(r.getMessage() for r in caplog.records if "types/wrong" in r.getMessage())
    for name in ("downloads", "likes", "trending_score", "used_storage", "pipeline_tag", "library_name", "tags"):
        assert f": {name} is " in said or f": {name} holds " in said, (name, said)
    with Catalog(out) as catalog:
        wrong, fine = catalog.entity("model", "types/wrong"), catalog.entity("model", "types/fine")
        assert wrong is not None and fine is not None and fine.downloads == 7
        assert (wrong.downloads, wrong.likes, wrong.trending_score) == (0, 0, None)
        assert (wrong.pipeline_tag, wrong.library_name) == (None, None) and "kept" in wrong.tags
        assert {h.id for h in catalog.search("types").hits} == {"types/fine", "types/wrong"}
        exported = catalog.export(tmp_path / "export")
    rows = {row["id"]: row for row in pq.read_table(exported.directory / "all_entities.parquet").to_pylist()}
    assert rows["types/wrong"]["downloads"] == 0 and rows["types/fine"]["downloads"] == 7
    assert rows["types/wrong"]["pipeline_tag"] is None and "kept" in rows["types/wrong"]["tags"]


# -- READMEs: 50 MB, not UTF-8 ---------------------------------------------------------------------
def test_a_50_mb_readme_is_archived_whole_and_read_in_bounded_memory(hf_env, hub_factory, tmp_path) -> None:
    head = b"# zqxhuge model card\n\nThe start of a very long card.\n"
    huge = head + b"filler line of a card that goes on and on\n" * (50_000_000 // 43)
    not_utf8 = b"# latin1 caf\xe9 card zqxlatin\n\xff\xfe\x00 broken bytes\n"
    emu = hub_factory([_model("big/readme", 20, RepoFile("README.md", huge), RepoFile("config.json", b"{}\n")),
                       _model("bad/utf8", 10, RepoFile("README.md", not_utf8)),
                       *(_model(id_, 9 - n, RepoFile("README.md", text)) for n, (id_, text) in enumerate(YAML_READMES.items()))])
    hf_env.use(emu)
    out = tmp_path / "out"
    tracemalloc.start()
    try:
        with Mirror(make_config(emu, out)) as mirror:
            summary = mirror.scrape("model", limit=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.status == "completed" and summary.failed == 0, str(summary)
    assert peak < len(huge) // 2, f"peak {peak / 1e6:.1f} MB traced for a {len(huge) / 1e6:.0f} MB README"
    with Catalog(out) as catalog:
        readme = catalog.readme("model", "big/readme", limit=len(head))
        assert readme is not None and readme.encode() == head
        assert {f.path: f.size for f in catalog.files("model", "big/readme")}["README.md"] == len(huge)
        assert [h.id for h in catalog.search("zqxhuge").hits] == ["big/readme"]
        assert [h.id for h in catalog.search("zqxlatin").hits] == ["bad/utf8"]
        text = catalog.readme("model", "bad/utf8")
        assert text is not None and "\ufffd" in text
        for id_, readme in YAML_READMES.items():  # archived as text, found by search, no card data
            entity = catalog.entity("model", id_)
            assert entity is not None and entity.status == "done" and entity.card_data is None, entity
            word = readme.split()[-1].decode()
            assert [h.id for h in catalog.search(word).hits] == [id_], word


_LAUGHS = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10))
YAML_READMES = {  # front matter the Hub's parser refuses: its cardData is absent
    "yaml/bomb": f"---\nl0: &l0 lol\n{_LAUGHS}---\n# zqxbomb\n".encode(),
    "yaml/deep": b"---\nx: " + b"[" * 20000 + b"]" * 20000 + b"\n---\n# zqxdeep\n",
    "yaml/broken": b"---\nlicense: [mit\n  pretty_name: {\n---\n# zqxbroken\n",
}
