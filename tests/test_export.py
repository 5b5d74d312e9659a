"""The unified Parquet export, read back through pyarrow, DuckDB and polars: declared types, no repr
strings, sizes that are the files' real sizes, one row per entity, merging that keeps the newest,
a kill in the middle that leaves the previous export readable, and the two scopes — the mirror's
entities, or the whole catalog a walk recorded."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hf_ipfs_scraper import Catalog, Mirror, load_config
from hf_ipfs_scraper.errors import StoreError
from hf_ipfs_scraper.errors import InvalidInputError
from hf_ipfs_scraper.export import ENTITY_SCHEMA, FILE_SCHEMA, SCHEMA_VERSION, SCOPES
from hf_ipfs_scraper.ipfs.fsimport import add_path
from hf_ipfs_scraper.ipfs.options import ImportOptions
from hf_ipfs_scraper.ipfs.sink import NullSink
from hf_ipfs_scraper.state import StateStore
from hf_ipfs_scraper.state.rows import Archived, EdgeRow
from tests.hubemu import HubEmulator, Repo, RepoFile, build_corpus

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]


def lineage() -> list[Repo]:
    def model(repo_id: str, score: int, front: str, *extra: RepoFile) -> Repo:
        files = [RepoFile("README.md", f"---\n{front}---\n# {repo_id}\n".encode()), *extra]
        return Repo("model", repo_id, files, trending_score=score, likes=3)

    big = RepoFile("model.safetensors", os.urandom(300_000), lfs=True)
    return [
        model("lab/base", 95, "license: mit\ndatasets: [lab/corpus]\n", big),
        model("lab/chat", 94, "base_model: lab/base\n"),
        model("lab/merge", 93, "base_model: [lab/base, lab/chat]\n"),
    ]


def mirror_all(emu: HubEmulator, out: Path) -> None:
    config = load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(out),
                                            "datasets.viewer_endpoint": emu.viewer_endpoint})
    with Mirror(config) as mirror:
        for summary in mirror.scrape_all({"model": 8, "dataset": 3, "space": 3}):
            assert summary.failed == 0, str(summary)


@pytest.fixture
def archive(hf_env, hub_factory, tmp_path: Path) -> tuple[Path, list[Repo]]:
    corpus = build_corpus(n_models=4, seed=5, n_datasets=4, n_spaces=3, lfs_max_size=32 << 10) + lineage()
    emu = hub_factory(corpus)
    mirror_all(emu, tmp_path / "archive")
    return tmp_path / "archive", corpus


def strings(table: Any) -> list[str]:
    out: list[str] = []
    for column in table.columns:
        for value in column.to_pylist():
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, list):
                out.extend(v for v in value if isinstance(v, str))
    return out


def test_export_round_trip_through_pyarrow_duckdb_and_polars(archive, tmp_path: Path) -> None:
    out, corpus = archive
    with Catalog(out) as catalog:
        result = catalog.export(tmp_path / "export")
        entities = {(e.type, e.id): e for e in catalog.entities()}
        files = {key: catalog.files(*key) for key in entities}
        ranks = {(t, r.id): r.rank for t in ("model", "dataset", "space") for r in catalog.trending(t)}
    export = tmp_path / "export"
    table = pq.read_table(export / "all_entities.parquet")
    assert table.schema.remove_metadata() == ENTITY_SCHEMA.remove_metadata()
    assert table.schema.metadata[b"hf_ipfs_scraper.schema_version"] == SCHEMA_VERSION.encode()
    assert result.rows["all_entities.parquet"] == table.num_rows == len(entities)
    rows = table.to_pylist()
    assert len({(r["entity_type"], r["id"]) for r in rows}) == len(rows)  # one row per entity
    assert not [s for s in strings(table) if s in ("None", "nan") or s.startswith(("['", "{'", "("))]
    by_key = {(r["entity_type"], r["id"]): r for r in rows}
    originals = {(r.type, r.id): r for r in corpus}
    for key, row in by_key.items():
        entity = entities[key]
        assert row["status"] == entity.status and row["root_cid"] == entity.root_cid
        if entity.status == "done":
            assert row["size_bytes"] == sum(f.size for f in files[key]) and row["file_count"] == len(files[key])
            assert row["pinned"] is True
            readme = originals[key].file("README.md")
            assert row["readme"] == (readme.data.decode("utf-8", "replace") if readme else None)
        assert row["trending_rank"] == ranks.get(key)
        assert row["created_at"].tzinfo is not None and row["updated_at"] is not None
    assert by_key[("model", "lab/chat")]["base_models"] == ["lab/base"]
    assert by_key[("model", "lab/chat")]["base_model_relation"] == "finetune"
    assert sorted(by_key[("model", "lab/merge")]["base_models"]) == ["lab/base", "lab/chat"]
    assert by_key[("model", "lab/base")]["datasets"] == ["lab/corpus"]
    assert json.loads(by_key[("model", "lab/base")]["card_data"])["license"] == "mit"
    # LFS files: their real size, not the pointer's
    big = pq.read_table(export / "files.parquet").to_pylist()
    safetensors = next(f for f in big if f["entity_id"] == "lab/base" and f["path"] == "model.safetensors")
    assert safetensors["size"] == 300_000 and safetensors["sha256"] and safetensors["cid"].startswith("Qm")
    assert pq.read_schema(export / "files.parquet").remove_metadata() == FILE_SCHEMA.remove_metadata()
    per_type = {t: pq.read_table(export / f"{t}s.parquet").num_rows for t in ("model", "dataset", "space")}
    assert sum(per_type.values()) == table.num_rows and all(per_type.values())

    con = duckdb.connect()
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM '{export / 'all_entities.parquet'}'").fetchall()}
    assert types["tags"] == "VARCHAR[]" and types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    largest = con.execute(
        f"SELECT id, size_bytes FROM '{export / 'models.parquet'}' WHERE size_bytes IS NOT NULL"
        " ORDER BY size_bytes DESC LIMIT 1").fetchone()
    assert largest == max(((r["id"], r["size_bytes"]) for r in rows if r["entity_type"] == "model" and r["size_bytes"]),
                          key=lambda x: x[1])
    joined = con.execute(
        f"SELECT e.id, sum(f.size) FROM '{export / 'all_entities.parquet'}' e JOIN '{export / 'files.parquet'}' f"
        " ON f.entity_type = e.entity_type AND f.entity_id = e.id GROUP BY e.id, e.size_bytes HAVING sum(f.size) != e.size_bytes"
    ).fetchall()
    assert joined == []

    frame = pl.read_parquet(export / "all_entities.parquet")
    assert frame.schema["tags"] == pl.List(pl.String)
    assert frame.schema["created_at"] == pl.Datetime("us", "UTC")
    assert frame.filter(pl.col("entity_type") == "space").height == per_type["space"]
    card = (export / "README.md").read_text()
    assert card.startswith("---\nconfigs:\n- config_name: all_entities\n  data_files: all_entities.parquet")


def test_merge_keeps_entities_of_both_archives_and_the_newest_row(hf_env, hub_factory, tmp_path: Path) -> None:
    first = hub_factory(lineage())
    mirror_all(first, tmp_path / "one")
    export = tmp_path / "export"
    with Catalog(tmp_path / "one") as catalog:
        catalog.export(export)
    before = {r["id"]: r for r in pq.read_table(export / "all_entities.parquet").to_pylist()}
    second = hub_factory([*lineage()[1:], Repo("model", "other/new", [RepoFile("README.md", b"# new\n")],
                                               trending_score=1)])
    second.update_repo("lab/chat", likes=77)
    mirror_all(second, tmp_path / "two")
    with Catalog(tmp_path / "two") as catalog:
        result = catalog.export(export)
    after = {r["id"]: r for r in pq.read_table(export / "all_entities.parquet").to_pylist()}
    assert set(after) == {"lab/base", "lab/chat", "lab/merge", "other/new"}  # lab/base carried over
    assert result.carried_over == 1
    assert after["lab/chat"]["likes"] == 77 and before["lab/chat"]["likes"] == 3  # the newer archive wins
    assert after["lab/base"] == before["lab/base"]
    # merging an older archive again keeps the newer rows
    with Catalog(tmp_path / "one") as catalog:
        catalog.export(export)
    again = {r["id"]: r for r in pq.read_table(export / "all_entities.parquet").to_pylist()}
    assert again["lab/chat"]["likes"] == 77 and len(again) == 4


def test_cli_export_adds_the_directory_to_the_store_and_prints_its_cid(archive, tmp_path: Path) -> None:
    out, _ = archive
    result = subprocess.run([*CLI, "--output-dir", str(out), "export", "--types", "models,spaces"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    export = out / "export"
    assert not (export / "datasets.parquet").exists()
    cid_line = result.stdout.splitlines()[-1]
    assert cid_line.endswith("(pinned in the store)")
    expected = add_path(export, NullSink(), ImportOptions(), recursive=True).cid
    assert cid_line.split()[2] == str(expected)
    listed = subprocess.run([*CLI, "--output-dir", str(out), "ipfs", "ls", str(expected)],
                            capture_output=True, text=True, timeout=60)
    assert "all_entities.parquet" in listed.stdout and "README.md" in listed.stdout


def synthetic_archive(out: Path, n: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    StateStore(out / "state.sqlite").close()
    db = sqlite3.connect(out / "state.sqlite")
    now = time.time()
    with db:
        db.executemany(
            "INSERT INTO entities (type, id, status, first_seen, updated_at, root_cid, size_bytes, file_count,"
            " tags, likes, downloads, readme_cid) VALUES ('model', ?, 'done', ?, ?, 'QmRoot', ?, 1, ?, 1, 1, 'QmR')",
            [(f"org/m{i:07d}", now, now, i, json.dumps(["t", f"x{i % 10}"])) for i in range(n)],
        )
        db.executemany("INSERT INTO readmes (type, entity_id, cid, size, text) VALUES ('model', ?, 'QmR', 64, ?)",
                       [(f"org/m{i:07d}", "word " * 400) for i in range(n)])
    db.close()


def test_a_kill_during_export_leaves_the_previous_export_readable(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    synthetic_archive(out, 60_000)
    export = tmp_path / "export"
    with Catalog(out) as catalog:
        catalog.export(export)
    before = pq.read_table(export / "all_entities.parquet")
    code = (f"from hf_ipfs_scraper import Catalog\nCatalog({str(out)!r}).export({str(export)!r}, merge=False)\n")
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while not list(export.glob(".all_entities.parquet.*.tmp")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    assert proc.poll() is None, "the export finished before it could be killed: make the archive bigger"
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    after = pq.read_table(export / "all_entities.parquet")
    assert after.equals(before)
    for name in ("models.parquet", "files.parquet", "runs.parquet"):
        pq.read_table(export / name)  # every file whole


def test_a_large_export_writes_the_side_tables_in_a_second_process(tmp_path: Path, monkeypatch) -> None:
    """From PARALLEL_FROM entities on, files/edges/trending/runs come from a child process: the same
    tables as the serial path, and its failure is the export's failure."""
    import hf_ipfs_scraper.export as export_module

    out = tmp_path / "archive"
    synthetic_archive(out, 300)
    with StateStore(out / "state.sqlite") as state:
        for i in range(3):
            state.record_file("model", f"org/m{i:07d}", "README.md", size=64, cid="QmR", tsize=70)
    with Catalog(out) as catalog:
        serial = catalog.export(tmp_path / "serial")
        monkeypatch.setattr(export_module, "PARALLEL_FROM", 1)
        parallel = catalog.export(tmp_path / "parallel")
        assert parallel.rows == serial.rows and parallel.rows["files.parquet"] == 3
        for name in ("files.parquet", "provenance_edges.parquet", "trending_snapshots.parquet", "runs.parquet"):
            assert pq.read_table(tmp_path / "parallel" / name).equals(pq.read_table(tmp_path / "serial" / name))
        monkeypatch.setattr(sys, "executable", "/bin/false")
        with pytest.raises(StoreError, match="files.parquet, provenance_edges.parquet, .* failed"):
            catalog.export(tmp_path / "parallel")
    assert pq.read_table(tmp_path / "parallel" / "files.parquet").num_rows == 3  # the previous export, whole


def test_exported_files_are_as_readable_as_the_umask_allows(tmp_path: Path) -> None:
    """Not mkstemp's private 0600: an export is made to be shared (served, copied, read by others)."""
    out = tmp_path / "archive"
    synthetic_archive(out, 10)
    old = os.umask(0o022)
    try:
        with Catalog(out) as catalog:
            catalog.export(tmp_path / "export")
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "export").iterdir()}
    assert modes and set(modes.values()) == {0o644}, modes


@given(st.lists(st.one_of(st.text(), st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2)), max_size=6),
       st.sampled_from([(", ", ": "), (",", ":")]), st.booleans())
@settings(max_examples=400, deadline=None, derandomize=True)
def test_a_json_list_column_reads_as_json_would(members: list[Any], separators: tuple[str, str], ascii: bool) -> None:
    """The split fast path of ``_list`` agrees with parsing, whatever the strings hold (quotes,
    backslashes, the separators themselves, non-ASCII) and whichever separators wrote them."""
    from hf_ipfs_scraper.export import _list

    text = json.dumps(members, separators=separators, ensure_ascii=ascii)
    assert _list(text) == [m if isinstance(m, str) else json.dumps(m) for m in members]


# -- scopes: the mirror's entities, or the whole catalog a walk recorded ----------------------------
def _meta(repo_id: str, likes: int) -> dict[str, Any]:
    return {"author": repo_id.split("/")[0], "likes": likes, "tags": ["t", f"likes:{likes}"],
            "last_modified": "2024-11-01T10:26:30.000Z"}


def walked_archive(out: Path) -> dict[str, tuple[str, str]]:
    """A state made through the public API: mirrored, pending, walk-listed and gone repos (one of
    them renamed), and edges from the mirror's repos and from listed ones. Returns the keys by name."""
    with StateStore(out / "state.sqlite") as state:
        for repo_id in ("lab/done", "lab/old"):
            state.upsert_discovered("model", repo_id, "s1", metadata=_meta(repo_id, 5))
            state.mark_done("model", repo_id, "s1", "QmRoot" + repo_id[-3:], archived=Archived(
                size_bytes=10, total_bytes=10, file_count=1, readme_cid="QmReadme", readme_size=6, readme_text="# done"))
        state.upsert_discovered("model", "lab/pending", "s1", metadata=_meta("lab/pending", 2))
        first = state.start_walk("model", "full")  # lists everything
        state.walk_page(first, [(i, "s1", _meta(i, 1)) for i in ("hub/gone", "hub/listed", "lab/done", "lab/old")], None)
        state.finish_walk(first.id, "completed")
        datasets = state.start_walk("dataset", "full")
        state.walk_page(datasets, [("hub/data", "d1", _meta("hub/data", 1))], None)
        state.finish_walk(datasets.id, "completed")
        time.sleep(0.01)
        second = state.start_walk("model", "full")  # hub/gone and lab/old are no longer listed
        state.walk_page(second, [(i, "s1", _meta(i, 1)) for i in ("hub/listed", "lab/done")], None)
        state.finish_walk(second.id, "completed")
        assert sorted(state.mark_gone("model", second.started_at)) == ["hub/gone", "lab/old"]
        state.set_renamed("model", "lab/old", "lab/new")
        state.replace_edges("model:lab/pending", [EdgeRow("model:lab/pending", "model:hub/listed", "finetune", "card")])
        state.replace_edges("model:hub/listed", [EdgeRow("model:hub/listed", "model:lab/done", "quantized", "card")])
    return {"done": ("model", "lab/done"), "old": ("model", "lab/old"), "pending": ("model", "lab/pending"),
            "listed": ("model", "hub/listed"), "gone": ("model", "hub/gone"), "data": ("dataset", "hub/data")}


def card_files(export: Path) -> list[str]:
    card = (export / "README.md").read_text()
    return re.findall(r"^  data_files: (\S+)$", card.split("\n---\n", 1)[0], flags=re.M)


def by_key(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    table = pq.read_table(path)
    assert table.schema.remove_metadata() == ENTITY_SCHEMA.remove_metadata()
    assert table.schema.metadata[b"hf_ipfs_scraper.schema_version"] == SCHEMA_VERSION.encode() == b"2"
    return {(r["entity_type"], r["id"]): r for r in table.to_pylist()}


def test_the_mirror_scope_leaves_out_the_repos_a_walk_only_listed(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    keys = walked_archive(out)
    with Catalog(out) as catalog:
        result = catalog.export()
        state = {(e.type, e.id): e for e in catalog.entities()}
    export = out / "export"
    assert result.directory == export and result.scope == "mirror"
    rows = by_key(export / "all_entities.parquet")
    assert set(rows) == {keys["done"], keys["old"], keys["pending"]}  # neither listed one, nor the dataset
    assert rows[keys["done"]]["mirrored"] is True and rows[keys["pending"]]["mirrored"] is False
    old = rows[keys["old"]]  # mirrored, then gone from the Hub: the archive keeps it, with the date
    assert old["mirrored"] is True and old["renamed_to"] == "lab/new"
    assert old["gone_at"].timestamp() == pytest.approx(state[keys["old"]].gone_at, abs=1e-6)
    assert rows[keys["done"]]["listed_at"].timestamp() == pytest.approx(state[keys["done"]].listed_at, abs=1e-6)
    assert rows[keys["done"]]["gone_at"] is None and rows[keys["pending"]]["listed_at"] is None
    assert rows[keys["pending"]]["base_models"] == ["hub/listed"]  # its own edge, to a listed repo
    edges = pq.read_table(export / "provenance_edges.parquet").to_pylist()
    assert [(e["src_id"], e["dst_id"]) for e in edges] == [("lab/pending", "hub/listed")]  # not the listed repo's
    assert pq.read_table(export / "datasets.parquet").num_rows == 0
    assert sorted(card_files(export)) == sorted(p.name for p in export.glob("*.parquet")) == sorted(result.rows)
    assert not (export / "catalog.parquet").exists()
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FILTER (WHERE mirrored), count(*) FILTER (WHERE gone_at IS NOT NULL)"
                       f" FROM '{export / 'models.parquet'}'").fetchone() == (2, 1)


def test_the_catalog_scope_writes_every_entity_into_one_file_and_every_edge(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    keys = walked_archive(out)
    with Catalog(out) as catalog:
        result = catalog.export(scope="catalog")
        state = {(e.type, e.id): e for e in catalog.entities()}
    export = out / "catalog_export"
    assert result.directory == export and result.scope == "catalog" and result.carried_over == 0
    assert sorted(result.rows) == ["catalog.parquet", "provenance_edges.parquet"]
    assert sorted(p.name for p in export.iterdir() if not p.name.startswith(".")) == ["README.md", "catalog.parquet", "provenance_edges.parquet"]
    assert card_files(export) == ["catalog.parquet", "provenance_edges.parquet"]
    assert "(scope `catalog`)" in (export / "README.md").read_text()
    rows = by_key(export / "catalog.parquet")
    assert set(rows) == set(keys.values()) == set(state)
    for key, row in rows.items():
        entity = state[key]
        assert row["status"] == entity.status and row["mirrored"] is (entity.status == "done")
        assert row["renamed_to"] == entity.renamed_to
        for column in ("listed_at", "gone_at"):
            value = getattr(entity, column)
            assert (row[column] is None) if value is None else row[column].timestamp() == pytest.approx(value, abs=1e-6)
    assert rows[keys["listed"]]["status"] == "listed" and rows[keys["listed"]]["mirrored"] is False
    assert rows[keys["listed"]]["base_models"] == ["lab/done"] and rows[keys["listed"]]["likes"] == 1
    assert rows[keys["gone"]]["gone_at"] is not None and rows[keys["listed"]]["gone_at"] is None
    assert rows[keys["done"]]["readme"] == "# done" and rows[keys["listed"]]["readme"] is None
    assert pq.read_table(export / "provenance_edges.parquet").num_rows == 2

    con = duckdb.connect()
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM '{export / 'catalog.parquet'}'").fetchall()}
    assert types["mirrored"] == "BOOLEAN" and types["listed_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["gone_at"] == "TIMESTAMP WITH TIME ZONE" and types["renamed_to"] == "VARCHAR"
    assert con.execute(f"SELECT status, count(*) FROM '{export / 'catalog.parquet'}' GROUP BY ALL ORDER BY 1"
                       ).fetchall() == [("done", 2), ("listed", 3), ("pending", 1)]
    frame = pl.read_parquet(export / "catalog.parquet")
    assert frame.schema["mirrored"] == pl.Boolean and frame.schema["gone_at"] == pl.Datetime("us", "UTC")
    gone = frame.filter(pl.col("gone_at").is_not_null()).sort("id")
    assert gone["id"].to_list() == ["hub/gone", "lab/old"] and gone["renamed_to"].to_list() == [None, "lab/new"]

    # rewritten whole, never merged (the state deletes nothing); --types keeps one file
    with Catalog(out) as catalog:
        again = catalog.export(scope="catalog", types=["dataset"])
    assert again.rows["catalog.parquet"] == 1 and set(by_key(export / "catalog.parquet")) == {keys["data"]}


def test_each_scope_keeps_to_its_own_directory_and_a_bad_scope_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    walked_archive(out)
    with Catalog(out) as catalog:
        catalog.export(tmp_path / "x")
        with pytest.raises(InvalidInputError, match="other scope"):
            catalog.export(tmp_path / "x", scope="catalog")
        catalog.export(tmp_path / "y", scope="catalog")
        with pytest.raises(InvalidInputError, match="other scope"):
            catalog.export(tmp_path / "y")
        with pytest.raises(InvalidInputError, match="unknown export scope 'hub'"):
            catalog.export(tmp_path / "z", scope="hub")
    assert not (tmp_path / "z").exists() and SCOPES == ("mirror", "catalog")


def test_a_large_catalog_export_writes_its_edges_in_a_second_process(tmp_path: Path, monkeypatch) -> None:
    import hf_ipfs_scraper.export as export_module

    out = tmp_path / "archive"
    walked_archive(out)
    with Catalog(out) as catalog:
        serial = catalog.export(tmp_path / "serial", scope="catalog")
        monkeypatch.setattr(export_module, "PARALLEL_FROM", 1)
        parallel = catalog.export(tmp_path / "parallel", scope="catalog")
        mirror = catalog.export(tmp_path / "mirror")  # and the mirror scope's filtered edges, in the child
    assert parallel.rows == serial.rows
    for name in ("catalog.parquet", "provenance_edges.parquet"):
        assert pq.read_table(tmp_path / "parallel" / name).equals(pq.read_table(tmp_path / "serial" / name))
    assert mirror.rows["provenance_edges.parquet"] == 1 and mirror.rows["all_entities.parquet"] == 3


def test_a_version_1_export_is_merged_into_version_2(tmp_path: Path) -> None:
    """Rows carried over from an export written before ``mirrored``/``listed_at``/... existed get
    ``mirrored`` from their status and nulls for the rest."""
    out = tmp_path / "archive"
    walked_archive(out)
    export = tmp_path / "export"
    with Catalog(out) as catalog:
        catalog.export(export)
    v1 = pq.read_table(export / "all_entities.parquet").drop_columns(["mirrored", "listed_at", "gone_at", "renamed_to"])
    foreign = v1.slice(0, 1).to_pylist()[0] | {"id": "other/repo", "status": "done"}
    v1 = pa.concat_tables([v1, pa.Table.from_pylist([foreign], schema=v1.schema)])
    pq.write_table(v1, export / "all_entities.parquet")
    with Catalog(out) as catalog:
        result = catalog.export(export)
    rows = by_key(export / "all_entities.parquet")
    assert result.carried_over == 1 and len(rows) == 4
    carried = rows[("model", "other/repo")]
    assert carried["mirrored"] is True and carried["listed_at"] is None and carried["renamed_to"] is None
    assert rows[("model", "lab/old")]["renamed_to"] == "lab/new"  # this archive's own rows: version 2


def test_cli_export_scope(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    walked_archive(out)
    done = subprocess.run([*CLI, "--output-dir", str(out), "export", "--scope", "catalog", "--no-ipfs"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{out / 'catalog_export' / 'catalog.parquet'}" in done.stdout
    assert pq.read_table(out / "catalog_export" / "catalog.parquet").num_rows == 6 and not (out / "export").exists()
    bad = subprocess.run([*CLI, "--output-dir", str(out), "export", "--scope", "hub"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "invalid choice: 'hub'" in bad.stderr


_MEMBERS = st.lists(st.one_of(st.text(), st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2)), max_size=4)
_JSON_VALUE = st.one_of(
    st.none(), st.just(""), st.just("null"),
    st.builds(lambda value, separators, ascii, indent: json.dumps(value, separators=separators, ensure_ascii=ascii,
                                                                  indent=indent),
              st.one_of(_MEMBERS, st.lists(st.text(), max_size=4), st.text(max_size=3), st.integers(),
                        st.dictionaries(st.text(max_size=2), st.text(max_size=2), max_size=2)),
              st.sampled_from([(", ", ": "), (",", ":")]), st.booleans(), st.sampled_from([None, 1])),
)


@given(st.lists(st.tuples(_JSON_VALUE, _JSON_VALUE, _JSON_VALUE), min_size=1, max_size=6))
@example([('["a", "b"]', "[]", None), ('["x\\"y", "\u00e9", ""]', '["en"]', "")])  # Arrow reads this one
@settings(max_examples=300, deadline=None, derandomize=True)
def test_list_columns_read_by_arrow_agree_with_reading_each_value(rows: list[tuple[Any, Any, Any]]) -> None:
    """``_list_arrays`` (Arrow's JSON reader, a batch at a time) gives what ``_list`` gives value
    by value, whatever the batch holds: lists of strings, members that are not strings, values that
    are not lists, nulls, pretty-printed JSON with line breaks."""
    from hf_ipfs_scraper.export import _list, _list_arrays

    columns = list(zip(*rows))
    for array, column in zip(_list_arrays(*columns), columns):
        assert array.type == pa.list_(pa.string()) and array.to_pylist() == [_list(v) for v in column]
