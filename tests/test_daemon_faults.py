"""A mirror into a real IPFS daemon (the JavaScript node) that is killed, slow, or answering errors.

The daemon is reached through ``tests/rpcfaults.py``, a loopback proxy that forwards the RPC
byte for byte except for the calls a test names: it kills the daemon part-way through a
``dag/import`` body, delays answers, answers with Kubo's 500 JSON error, or resets a connection
mid-answer. After each faulted run the daemon itself is asked (``pin/ls``) whether what the state
store records as done is pinned — never the mirror's word for it — and at the end every repo's DAG
is exported from the daemon and imported into an embedded store, which verifies each block's hash
and that the DAG is whole (``import_car``, then ``verify()``), and its files must be the Hub's bytes.

Why a daemon that is down, silent or breaking off answers stops the run (one ``Error:`` line, exit 1)
while a refusal (a 500) fails only that repo: the first is the store's, not a repo's — going on would
fail every remaining repo the same way and push each one's retry out by ``scrape.retry_spacing``,
although nothing is wrong with them; stopped, they stay ``pending`` and the next run resumes them at
once. A refusal is about one call (a DAG the daemon could not import or pin), so the repo is
recorded as failed with the daemon's message and a later run retries it.
"""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hf_ipfs_scraper import Mirror, load_config
from hf_ipfs_scraper.config import Config
from hf_ipfs_scraper.ipfs.cid import CID
from hf_ipfs_scraper.state import StateStore
from hf_ipfs_scraper.storage.embedded import EmbeddedStore
from hf_ipfs_scraper.storage.kubo import KuboRemote
from tests.hubemu import HubEmulator, Repo, RepoFile
from tests.ipfsnode import JsIpfsNode
from tests.rpcfaults import Delay, Drop, Hook, Refuse, RpcFaultProxy

pytestmark = pytest.mark.kubo
CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]
PENDING = "repos not yet pinned stay pending for the next run"


def _corpus(tag: str, n: int) -> list[Repo]:
    """``n`` models whose bytes are this test's own (the session daemon holds other tests' pins)."""
    def model(i: int) -> Repo:
        repo_id = f"org/{tag}-{i}"
        files = [
            RepoFile("README.md", f"# {repo_id}\n\nA model card.\n".encode()),
            RepoFile("config.json", f'{{"tag": "{tag}"}}\n'.encode()),  # one blob shared by the repos
            RepoFile("model.safetensors", (repo_id.encode() + bytes(range(256))) * 3000, lfs=True),  # ~800 KB
        ]
        return Repo("model", repo_id, files, trending_score=100 - i, likes=100 - i, downloads=10)

    return [model(i) for i in range(n)]


def _config(emu: HubEmulator, out: Path, api: str, **extra: Any) -> Config:
    values = {"hub.endpoint": emu.endpoint, "output_dir": str(out), "storage.backend": "kubo", "kubo.api": api,
              "kubo.timeout": "20s", "scrape.workers": 1} | extra
    return load_config(env={}, overrides=values)


def _statuses(out: Path) -> dict[str, tuple[str, str | None]]:
    with StateStore(out / "state.sqlite") as state:
        return {e.id: (e.status, e.root_cid) for e in state.iter_entities("model")}


def _daemon_pins(node: JsIpfsNode) -> dict[bytes, str | None]:
    """The daemon's recursive pins (multihash → name), asked directly, not through the proxy."""
    daemon = KuboRemote(node.api_url, timeout=20)
    try:
        return {pin.cid.multihash: pin.name for pin in daemon.pins()}
    finally:
        daemon.close()


def _assert_done_is_pinned(out: Path, node: JsIpfsNode) -> dict[str, str]:
    """Every repo the state store calls done is pinned in the daemon, under its name."""
    pins = _daemon_pins(node)
    done = {repo: root for repo, (status, root) in _statuses(out).items() if status == "done"}
    for repo, root in done.items():
        assert root is not None and pins.get(CID.parse(root).multihash) == f"model:{repo}", (repo, root)
    return {repo: root for repo, root in done.items() if root is not None}


def _assert_content_verifies(out: Path, node: JsIpfsNode, corpus: list[Repo], scratch: Path) -> None:
    """Each done repo's DAG, exported by the daemon, imports into an embedded store (every block's
    hash and the DAG's completeness checked), verifies, lists the recorded files and cats the Hub's bytes."""
    daemon = KuboRemote(node.api_url, timeout=20)
    try:
        with EmbeddedStore(scratch) as check, StateStore(out / "state.sqlite") as state:
            for entity in state.iter_entities("model", status="done"):
                root = CID.parse(entity.root_cid or "")
                car = io.BytesIO()
                assert daemon.export_car(root, car) > 0
                car.seek(0)
                assert check.import_car(car).roots == [root]
                hub = {f.path: f.data for f in next(r for r in corpus if r.id == entity.id).files}
                recorded = {f.path: f.cid for f in state.files("model", entity.id)}
                assert {e.name: str(e.cid) for e in check.ls(root)} == recorded
                assert set(recorded) <= set(hub) | {".gitattributes"}
                for path, cid in recorded.items():
                    if path in hub:
                        assert check.read_bytes(cid) == hub[path], (entity.id, path)
            report = check.verify()
            assert report.ok, report
    finally:
        daemon.close()


def _assert_each_blob_downloaded_once(emu: HubEmulator, out: Path) -> None:
    with StateStore(out / "state.sqlite") as state:
        oids = {f.oid for e in state.iter_entities("model") for f in state.files("model", e.id)}
    assert emu.counts["resolve_get"] == len(oids), (emu.counts["resolve_get"], len(oids))


def _spool_blocks(out: Path) -> int:
    with EmbeddedStore(out / "spool", readonly=True, create=False) as spool:
        return sum(1 for _ in spool.blocks.iter_multihashes())


class _Killer:
    """``kill -9`` of the daemon, from the proxy's thread as a request goes through; ``restart``
    waits for that kill to have ended (a Popen waited on in another thread looks alive meanwhile)."""

    def __init__(self, node: JsIpfsNode) -> None:
        self.node = node
        self.kills = 0
        self._done = threading.Event()

    def __call__(self) -> None:
        self.node.kill()
        self.kills += 1
        self._done.set()

    def restart(self) -> None:
        assert self._done.wait(30), "the planned kill never happened"
        self._done.clear()
        self.node.start()


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


# -- 1: kill -9 mid-add, restart, resume ---------------------------------------------------------------
def test_a_daemon_killed_mid_import_and_mid_pin_leaves_nothing_recorded_pinned_that_is_not_and_the_resume_completes(
    hf_env, hub_factory, fresh_js_ipfs_node, tmp_path
) -> None:
    corpus = _corpus("killed", 4)
    emu = hf_env.use(hub_factory(corpus))
    node = fresh_js_ipfs_node
    killer = _Killer(node)
    out = tmp_path / "out"
    env = hf_env.subprocess_env(emu)
    with RpcFaultProxy(node.api_url) as proxy:
        command = [*CLI, "--output-dir", str(out), "models", "--limit", "4", "--workers", "1",
                   "--backend", "kubo", "--kubo-api", proxy.url]

        # run 1: killed once 300 KB of the second repo's CAR (~800 KB) went into dag/import
        proxy.arm({("dag/import", 1): Hook(killer, after_body=300_000)})
        first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert _one_error_line(first) == (f"Error: the IPFS daemon at {proxy.url} is not reachable (connection "
                                          f"reset); is the daemon running?; {PENDING}")
        assert killer.kills == 1
        killer.restart()
        assert _assert_done_is_pinned(out, node).keys() == {"org/killed-0"}
        assert {s for r, (s, _) in _statuses(out).items() if r != "org/killed-0"} == {"pending"}

        # run 2: killed as the resumed repo's pin/add reaches the daemon (its import went through)
        proxy.arm({("pin/add", 0): Hook(killer, after_body=0)})
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert "is not reachable" in _one_error_line(second)
        assert proxy.calls["dag/import"] == 1 and killer.kills == 2
        killer.restart()
        assert _assert_done_is_pinned(out, node).keys() == {"org/killed-0"}  # the kill beat the answer

        # run 3: no fault; the resume completes
        proxy.arm()
        third = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert third.returncode == 0, third.stderr
    assert "3 mirrored, 1 unchanged, 0 skipped, 0 failed" in third.stdout, third.stdout
    assert _assert_done_is_pinned(out, node).keys() == {r.id for r in corpus}
    snapshot = third.stdout.splitlines()[-1].split()[2]
    assert (_daemon_pins(node).get(CID.parse(snapshot).multihash) or "").startswith("snapshot:")
    _assert_content_verifies(out, node, corpus, tmp_path / "check")
    _assert_each_blob_downloaded_once(emu, out)  # a repo cut off mid-push re-sent its spooled blocks
    assert _spool_blocks(out) == 0  # everything the daemon confirmed left the spool


# -- 2: a slow daemon -----------------------------------------------------------------------------------
def test_a_slow_daemon_is_waited_for_and_one_slower_than_the_timeout_stops_the_run_which_resumes(
    hf_env, hub_factory, js_ipfs_node, tmp_path
) -> None:
    corpus = _corpus("slow", 4)
    emu = hf_env.use(hub_factory(corpus))
    out = tmp_path / "out"
    with RpcFaultProxy(js_ipfs_node.api_url) as proxy:
        proxy.arm(every=Delay(0.3))  # every answer 0.3 s late: slow, within the timeout
        with Mirror(_config(emu, out, proxy.url)) as mirror:
            slow = mirror.scrape_models(limit=2)
        assert slow.status == "completed" and slow.mirrored == 2, slow
        delayed = len(proxy.injected)
        assert delayed >= 1 + 2 * 2  # version, then a dag/import and a pin/add per repo
        _assert_done_is_pinned(out, js_ipfs_node)

        # the next repo's dag/import answered 3 s late to a client that waits 1 s
        proxy.arm({("dag/import", 0): Delay(3.0)})
        with Mirror(_config(emu, out, proxy.url, **{"kubo.timeout": "1s"})) as mirror:
            stalled = mirror.scrape_models(limit=4)
        assert stalled.status == "failed" and stalled.mirrored == 0 and stalled.failed == 0, stalled
        assert stalled.error == f"the IPFS daemon at {proxy.url} did not answer within 1s; {PENDING}"
        assert _assert_done_is_pinned(out, js_ipfs_node).keys() == {"org/slow-0", "org/slow-1"}
        assert {_statuses(out)[f"org/slow-{i}"][0] for i in (2, 3)} == {"pending"}

        proxy.arm()
        with Mirror(_config(emu, out, proxy.url)) as mirror:
            resumed = mirror.scrape_models(limit=4)
    assert resumed.status == "completed" and (resumed.mirrored, resumed.unchanged) == (2, 2), resumed
    assert _assert_done_is_pinned(out, js_ipfs_node).keys() == {r.id for r in corpus}
    _assert_content_verifies(out, js_ipfs_node, corpus, tmp_path / "check")
    _assert_each_blob_downloaded_once(emu, out)


# -- 3: a daemon answering errors ------------------------------------------------------------------------
def test_refusals_fail_their_repo_a_cut_answer_stops_the_run_nothing_unpinned_is_done_and_a_rerun_completes(
    hf_env, hub_factory, js_ipfs_node, tmp_path
) -> None:
    corpus = _corpus("refused", 5)
    emu = hf_env.use(hub_factory(corpus))
    out = tmp_path / "out"
    no_space = "Failed to import DAG: write /data/blocks: no space left on device"
    deadline = "Failed to add pin: context deadline exceeded"
    with RpcFaultProxy(js_ipfs_node.api_url) as proxy:
        config = _config(emu, out, proxy.url, **{"scrape.retry_spacing": "0.2s"})
        proxy.arm({
            ("dag/import", 1): Refuse(no_space),  # repo 1: refused; the daemon never saw it
            ("pin/add", 1): Refuse(deadline, forward=True),  # repo 2: pinned, then reported as failed
            ("pin/add", 2): Drop(after=0, in_body=True),  # repo 3: pinned, the answer cut after its head
        })
        with Mirror(config) as mirror:
            faulted = mirror.scrape_models(limit=5)
        assert len(proxy.injected) == 3
        assert faulted.status == "failed" and (faulted.mirrored, faulted.failed) == (1, 2), faulted
        assert faulted.error == (f"the IPFS daemon at {proxy.url} broke off its answer (connection reset); "
                                 f"is the daemon running?; {PENDING}")
        assert dict(faulted.failures) == {
            "org/refused-1": f"BackendError: the IPFS daemon at {proxy.url} refused: {no_space}",
            "org/refused-2": f"BackendError: the IPFS daemon at {proxy.url} refused: {deadline}",
        }
        statuses = {repo: status for repo, (status, _) in _statuses(out).items()}
        assert statuses == {"org/refused-0": "done", "org/refused-1": "failed", "org/refused-2": "failed",
                            "org/refused-3": "pending", "org/refused-4": "pending"}
        assert _assert_done_is_pinned(out, js_ipfs_node).keys() == {"org/refused-0"}
        # what the daemon really holds: the replaced and the cut answers were pins; the refusal was not
        names = {name for name in _daemon_pins(js_ipfs_node).values() if name and "refused" in name}
        assert names == {"model:org/refused-0", "model:org/refused-2", "model:org/refused-3"}

        time.sleep(0.3)  # the failed repos are due again (scrape.retry_spacing)
        proxy.arm()
        with Mirror(config) as mirror:
            rerun = mirror.scrape_models(limit=5)
    assert rerun.status == "completed" and (rerun.mirrored, rerun.unchanged, rerun.failed) == (4, 1, 0), rerun
    assert _assert_done_is_pinned(out, js_ipfs_node).keys() == {r.id for r in corpus}
    _assert_content_verifies(out, js_ipfs_node, corpus, tmp_path / "check")
    _assert_each_blob_downloaded_once(emu, out)


# -- 4: the daemon down at start ------------------------------------------------------------------------
def test_a_daemon_down_or_silent_at_start_is_one_error_line_and_changes_nothing_in_the_state(
    hf_env, hub_factory, js_ipfs_node, tmp_path
) -> None:
    corpus = _corpus("down", 2)
    emu = hf_env.use(hub_factory(corpus))
    out = tmp_path / "out"
    with RpcFaultProxy(js_ipfs_node.api_url) as proxy:
        with Mirror(_config(emu, out, proxy.url)) as mirror:
            assert mirror.scrape_models(limit=1).mirrored == 1
    new_sha = emu.update_file("org/down-0", "README.md", b"# org/down-0\n\nA new card.\n")  # work for the next run
    with StateStore(out / "state.sqlite") as state:
        runs_before = [(r.id, r.status) for r in state.runs()]
    before = _statuses(out)
    env = hf_env.subprocess_env(emu) | {"HF_IPFS_SCRAPER_KUBO__TIMEOUT": "1s"}

    def mirror_via(api: str) -> str:
        result = subprocess.run([*CLI, "--output-dir", str(out), "models", "--limit", "2", "--backend", "kubo",
                                 "--kubo-api", api], env=env, capture_output=True, text=True, timeout=120)
        assert "mirrored" not in result.stdout, result.stdout
        return _one_error_line(result)

    # the closed proxy's port refuses connections, as a daemon's that is not running
    assert mirror_via(proxy.url) == (f"Error: the IPFS daemon at {proxy.url} is not reachable (connection refused); "
                                     "is the daemon running?")
    with RpcFaultProxy(js_ipfs_node.api_url) as silent:
        silent.arm(every=Delay(30))  # accepts, never answers in time
        assert mirror_via(silent.url) == f"Error: the IPFS daemon at {silent.url} did not answer within 1s"
        assert silent.calls == {"version": 1}
    assert _statuses(out) == before and before["org/down-0"][0] == "done"
    with StateStore(out / "state.sqlite") as state:
        assert [(r.id, r.status) for r in state.runs()] == runs_before
        assert state.get("model", "org/down-0").sha != new_sha  # type: ignore[union-attr]
    _assert_done_is_pinned(out, js_ipfs_node)
