"""``SearchIndex.writer_process``: the index's writes made by a child process (``search/_writer.py``),
as a catalog's full walk does: the same results, the lock held by the child, its failures raised in
the parent, and the writer taken back when the block ends (or the child dies)."""

from __future__ import annotations

import os
import subprocess
import sys
import signal
import threading
from collections.abc import Iterator
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


def _alive(pid: int | None) -> bool:
    """Whether ``pid`` runs (not yet reaped: a zombie counts as ended)."""
    if pid is None:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


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
        assert there.writer_pid is None
        with there.writer_process():
            assert there.writer_pid is not None and there.writer_pid != os.getpid()
            assert there.upsert(docs) == 300
            assert there.upsert([_doc(5, readme="now about llama")]) == 1
            assert there.delete(["model:org1/bert-8", "model:nobody/none"]) == 1
            assert _locked(tmp_path / "there")  # by the child: this process let go of it
            assert _keys(there) == _keys(here) and _keys(there, "llama") == ["model:org5/bert-5"]
            child = there.writer_pid
        assert there.writer_pid is None and not _alive(child)
        assert there.upsert([_doc(1000)]) == 1  # the writer is this process's again
        assert there.count() == here.count() + 1 == 300
        with there.writer_process():
            assert there.rebuild(docs[:10]) == 10
        assert there.count() == 10


def test_concurrent_blocks_share_one_child(tmp_path: Path) -> None:
    with SearchIndex(tmp_path / "s", writable=True) as index:
        inside = threading.Barrier(3)
        seen: list[int | None] = []

        def writer(start: int) -> None:
            with index.writer_process():
                inside.wait(60)  # all three blocks open at once
                seen.append(index.writer_pid)
                index.upsert(_doc(i) for i in range(start, start + 50))
                inside.wait(60)

        threads = [threading.Thread(target=writer, args=(n * 50,)) for n in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(seen) == 3 and len(set(seen)) == 1 and seen[0] is not None
        assert index.writer_pid is None and not _alive(seen[0]) and index.count() == 150


def test_a_failed_write_in_the_child_is_raised_here_and_rolled_back(tmp_path: Path) -> None:
    with SearchIndex(tmp_path / "s", writable=True) as index:
        with index.writer_process():
            index.upsert([_doc(1)])
            with pytest.raises(OverflowError):  # tantivy refuses an integer over 64 bits, in the child
                index.upsert([_doc(2), _doc(3, size_bytes=2**70), _doc(4)])
            assert index.upsert([_doc(5)]) == 1  # the child goes on
            assert _keys(index) == ["model:org1/bert-1", "model:org5/bert-5"]  # nothing of the failed batch


def test_a_source_of_documents_that_fails_midway_leaves_nothing_of_it(tmp_path: Path) -> None:
    def failing() -> Iterator[SearchDoc]:
        yield from (_doc(i) for i in range(2, 4_500))  # more than one message's worth went over
        raise KeyboardInterrupt

    with SearchIndex(tmp_path / "s", writable=True) as index, index.writer_process():
        index.upsert([_doc(1)])
        with pytest.raises(KeyboardInterrupt):
            index.upsert(failing())
        assert index.upsert([_doc(5)]) == 1  # the conversation is still in step
        assert _keys(index) == ["model:org1/bert-1", "model:org5/bert-5"]


def test_ctrl_c_is_the_parents_to_handle(tmp_path: Path) -> None:
    with SearchIndex(tmp_path / "s", writable=True) as index, index.writer_process():
        child = index.writer_pid
        assert child is not None
        os.kill(child, signal.SIGINT)  # as a terminal's Ctrl-C reaches the whole process group
        assert index.upsert([_doc(1)]) == 1
        assert _alive(child) and index.writer_pid == child


def test_a_killed_child_fails_the_write_and_the_block_takes_the_writer_back(tmp_path: Path) -> None:
    with SearchIndex(tmp_path / "s", writable=True) as index:
        with pytest.raises(StoreError, match="writer process ended"), index.writer_process():
            index.upsert([_doc(1)])
            child = index.writer_pid
            assert child is not None
            os.kill(child, signal.SIGKILL)
            index.upsert([_doc(2)])
        assert index.upsert([_doc(3)]) == 1 and _keys(index) == ["model:org1/bert-1", "model:org3/bert-3"]


def test_a_reader_has_no_writer_to_hand_over_and_a_second_writer_meets_the_childs_lock(tmp_path: Path) -> None:
    with SearchIndex(tmp_path / "s", writable=True) as index, index.writer_process():
        with SearchIndex(tmp_path / "s") as reader, pytest.raises(StoreError, match="read-only"):
            with reader.writer_process():
                pass
        with pytest.raises(StoreLockedError):
            SearchIndex(tmp_path / "s", writable=True)


def test_a_script_with_no_main_guard_can_use_it(tmp_path: Path) -> None:
    """The child is a fresh interpreter, not multiprocessing's spawn (which would run this script
    again in the child, and fail)."""
    script = tmp_path / "script.py"
    script.write_text(
        "from hf_ipfs_scraper.search import SearchDoc, SearchIndex\n"
        f"with SearchIndex({str(tmp_path / 's')!r}, writable=True) as index, index.writer_process():\n"
        "    index.upsert([SearchDoc('model', 'a/b', 'a', None, (), 'text', None, None, False, None, None, 0, 0)])\n"
        "    print('upserted in', 'another process' if index.writer_pid else 'this one')\n"
        "print(SearchIndex(" + repr(str(tmp_path / "s")) + ").count())\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["upserted in another process", "1"]
