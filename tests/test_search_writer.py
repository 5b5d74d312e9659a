"""``SearchIndex.writer_process``: the index's writes made by a child process (``search/_writer.py``),
as a catalog's full walk does: the same results, the lock held by the child, its failures raised in
the parent, and the writer taken back when the block ends (or the child dies)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from pathlib import Path

import pytest

from hf_ipfs_scraper.errors import StoreError, StoreLockedError
from hf_ipfs_scraper.search import SearchDoc, SearchIndex, SearchQuery
from hf_ipfs_scraper.search._shard import check_unlocked


def _doc(i: int, **changes: object) -> SearchDoc:
    fields: dict[str, object] = dict(
        entity_type="model", id=f"org{i % 7}/bert-{i}", author=f"org{i % 7}", title=None, tags=("transformers",),
        readme=f"A bert model number {i}.", pipeline_tag="fill-mask", library_name="transformers", gated=False,
        size_bytes=1000 + i, trending_score=float(i), downloads=i, likes=i % 5)
    fields.update(changes)
    return SearchDoc(**fields)  # type: ignore[arg-type]


def _children() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == "hf-ipfs-search-writer"]


def _locked(path: Path) -> bool:
    try:
        for shard in sorted(path.glob("shard-*")):
            check_unlocked(shard)
    except StoreLockedError:
        return True
    return False


def _keys(index: SearchIndex, text: str = "") -> list[str]:
    return index.keys(SearchQuery(text, sort="downloads", descending=False))


def test_writes_in_the_child_equal_writes_in_process(tmp_path: Path) -> None:
    docs = [_doc(i) for i in range(300)]
    with SearchIndex(tmp_path / "here", writable=True) as here, SearchIndex(tmp_path / "there", writable=True) as there:
        here.upsert(docs)
        here.upsert([_doc(5, readme="now about llama")])
        here.delete(["model:org1/bert-8", "model:nobody/none"])
        with there.writer_process():
            assert len(_children()) == 1
            assert there.upsert(docs) == 300
            assert there.upsert([_doc(5, readme="now about llama")]) == 1
            assert there.delete(["model:org1/bert-8", "model:nobody/none"]) == 1
            assert _locked(tmp_path / "there")  # by the child: this process let go of it
            assert _keys(there) == _keys(here) and _keys(there, "llama") == ["model:org5/bert-5"]
        assert _children() == []
        assert there.upsert([_doc(1000)]) == 1  # the writer is this process's again
        assert there.count() == here.count() + 1 == 300
        with there.writer_process():
            assert there.rebuild(docs[:10]) == 10
        assert there.count() == 10


def test_concurrent_blocks_share_one_child(tmp_path: Path) -> None:
    with SearchIndex(tmp_path / "s", writable=True) as index:
        inside, go = threading.Barrier(4), threading.Event()  # the three and this one

        def writer(start: int) -> None:
            with index.writer_process():
                inside.wait(60)
                go.wait(10)
                index.upsert(_doc(i) for i in range(start, start + 50))

        threads = [threading.Thread(target=writer, args=(n * 50,)) for n in range(3)]
        for t in threads:
            t.start()
        inside.wait(60)
        assert len(_children()) == 1
        go.set()
        for t in threads:
            t.join(30)
        assert _children() == [] and index.count() == 150


def test_a_failed_write_in_the_child_is_raised_here_and_rolled_back(tmp_path: Path) -> None:
    with SearchIndex(tmp_path / "s", writable=True) as index:
        with index.writer_process():
            index.upsert([_doc(1)])
            with pytest.raises(OverflowError):  # tantivy refuses an integer over 64 bits, in the child
                index.upsert([_doc(2), _doc(3, size_bytes=2**70), _doc(4)])
            assert index.upsert([_doc(5)]) == 1  # the child goes on
            assert _keys(index) == ["model:org1/bert-1", "model:org5/bert-5"]  # nothing of the failed batch


def test_ctrl_c_is_the_parents_to_handle(tmp_path: Path) -> None:
    with SearchIndex(tmp_path / "s", writable=True) as index, index.writer_process():
        (child,) = _children()
        assert child.pid is not None
        os.kill(child.pid, signal.SIGINT)  # as a terminal's Ctrl-C reaches the whole process group
        assert index.upsert([_doc(1)]) == 1
        assert child.is_alive()


def test_a_killed_child_fails_the_write_and_the_block_takes_the_writer_back(tmp_path: Path) -> None:
    with SearchIndex(tmp_path / "s", writable=True) as index:
        with pytest.raises(StoreError, match="writer process ended"), index.writer_process():
            index.upsert([_doc(1)])
            (child,) = _children()
            assert child.pid is not None
            os.kill(child.pid, signal.SIGKILL)
            child.join(10)
            index.upsert([_doc(2)])
        assert index.upsert([_doc(3)]) == 1 and _keys(index) == ["model:org1/bert-1", "model:org3/bert-3"]


def test_a_reader_has_no_writer_to_hand_over_and_a_second_writer_meets_the_childs_lock(tmp_path: Path) -> None:
    with SearchIndex(tmp_path / "s", writable=True) as index, index.writer_process():
        with SearchIndex(tmp_path / "s") as reader, pytest.raises(StoreError, match="read-only"):
            with reader.writer_process():
                pass
        with pytest.raises(StoreLockedError):
            SearchIndex(tmp_path / "s", writable=True)
