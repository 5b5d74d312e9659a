"""Transient vs persistent: what a retry may cure is retried within the run, with backoff; what it
cannot is the repo's outcome; a failure of the archive itself stops the run with one clear line."""

from __future__ import annotations

import errno
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from huggingface_hub.errors import HfHubHTTPError

from hf_ipfs_scraper.cli.main import main
from hf_ipfs_scraper.errors import TransientHubError
from hf_ipfs_scraper.hub import client as hub_client
from hf_ipfs_scraper.hub import retry
from hf_ipfs_scraper.hub.client import HubClient, _transient
from hf_ipfs_scraper.state import StateStore
from hf_ipfs_scraper.storage.embedded import EmbeddedStore
from tests.hubemu import RepoFile
from tests.test_mirror_e2e import custom_repo, make_config, run_mirror


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "FIRST", 0.01)
    monkeypatch.setattr(retry, "CAP", 0.05)


def _http_error(status: int, **headers: str) -> HfHubHTTPError:
    response = httpx2.Response(status, headers=headers, request=httpx2.Request("GET", "https://hub.test/api/x"))
    return HfHubHTTPError(f"{status} from the Hub", response=response)


def test_what_a_retry_may_cure_is_transient_and_what_it_cannot_is_not() -> None:
    for status in (500, 502, 503, 504, 429):
        found = _transient("org/repo", _http_error(status, **{"Retry-After": "7"}))
        assert isinstance(found, TransientHubError) and found.retry_after == 7.0, status
    assert _transient("r", _http_error(503)).retry_after is None  # type: ignore[union-attr]
    assert _transient("r", _http_error(503, **{"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"})).retry_after is None  # type: ignore[union-attr]
    for status in (400, 401, 403, 404, 410):
        assert _transient("r", _http_error(status)) is None, status
    assert isinstance(_transient("r", httpx2.ConnectError("refused")), TransientHubError)
    assert isinstance(_transient("r", httpx2.RemoteProtocolError("peer closed")), TransientHubError)
    try:
        json.loads('[{"path": "a", "si')
    except json.JSONDecodeError as exc:
        assert isinstance(_transient("r", exc), TransientHubError)
    assert _transient("r", KeyError("a bug")) is None
    # after huggingface_hub's own retries (its listings): not asked again within the run...
    assert _transient("r", _http_error(502), retried=True).retried  # type: ignore[union-attr]
    assert not retry._worth_asking_again(_transient("r", _http_error(502), retried=True))  # type: ignore[arg-type]
    assert retry._worth_asking_again(_transient("r", _http_error(502)))  # type: ignore[arg-type]
    try:  # ...but a body cut short, which they do not retry, is
        json.loads("{")
    except json.JSONDecodeError as exc:
        assert not _transient("r", exc, retried=True).retried  # type: ignore[union-attr]


def _repos() -> list[Any]:
    return [custom_repo(f"org/repo-{i}", [RepoFile("README.md", f"# {i}\n".encode()),
                                          RepoFile("config.json", b"{}\n")], 10 - i) for i in range(3)]


def _failing_tree(monkeypatch: pytest.MonkeyPatch, repo_id: str, times: int, **kwargs: Any) -> list[float]:
    """``HubClient.tree`` of ``repo_id`` raises a TransientHubError its first ``times`` calls;
    returns the moments of its calls."""
    calls: list[float] = []
    real = HubClient.tree

    def tree(self: HubClient, record: Any) -> Any:
        if record.id == repo_id:
            calls.append(time.monotonic())
            if len(calls) <= times:
                raise TransientHubError(f"{repo_id}: 503 Service Unavailable", **kwargs)
        return real(self, record)

    monkeypatch.setattr(hub_client.HubClient, "tree", tree)
    return calls


def test_a_transient_failure_is_retried_within_the_run_and_the_repo_completes(
    hf_env: Any, hub_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = hf_env.use(hub_factory(_repos()))
    calls = _failing_tree(monkeypatch, "org/repo-1", times=2, retry_after=0.2)
    config = make_config(emu, tmp_path / "out")
    summary = run_mirror(config, limit=5, workers=2)
    assert (summary.mirrored, summary.failed, summary.retries) == (3, 0, 2), str(summary)
    assert len(calls) == 3 and calls[1] - calls[0] >= 0.2 and calls[2] - calls[1] >= 0.2  # Retry-After waited
    with StateStore(config.output_dir / "state.sqlite") as state:
        entity = state.get("model", "org/repo-1")
        assert (entity.status, entity.attempts) == ("done", 1)  # retries within a run are not attempts


def test_a_failure_that_persists_is_retried_scrape_retries_times_then_recorded_and_the_run_goes_on(
    hf_env: Any, hub_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = hf_env.use(hub_factory(_repos()))
    calls = _failing_tree(monkeypatch, "org/repo-0", times=10**6)
    config = make_config(emu, tmp_path / "out", scrape__retries=3)
    summary = run_mirror(config, limit=5, workers=2)
    assert (summary.status, summary.mirrored, summary.failed, summary.retries) == ("completed", 2, 1, 3), str(summary)
    assert len(calls) == 4
    assert "TransientHubError" in dict(summary.failures)["org/repo-0"]
    with StateStore(config.output_dir / "state.sqlite") as state:
        assert state.get("model", "org/repo-0").status == "failed"


def _disk_fills_after(monkeypatch: pytest.MonkeyPatch, files: int, error: BaseException) -> None:
    real = EmbeddedStore.add_file
    added = [0]

    def add_file(self: EmbeddedStore, *args: Any, **kwargs: Any) -> Any:
        added[0] += 1
        if added[0] > files:
            raise error
        return real(self, *args, **kwargs)

    monkeypatch.setattr(EmbeddedStore, "add_file", add_file)


def test_a_full_disk_stops_the_run_with_one_clear_line_and_the_repos_stay_pending_for_the_next(
    hf_env: Any, hub_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = hf_env.use(hub_factory(_repos()))
    out = tmp_path / "out"
    with monkeypatch.context() as full:
        _disk_fills_after(full, 3, OSError(errno.ENOSPC, "No space left on device"))
        code = main(["--output-dir", str(out), "models", "--limit", "5", "--workers", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith(f"Error: writing the archive in {out} failed: [Errno 28] No space left on device")
    with StateStore(out / "state.sqlite") as state:
        statuses = {e.id: (e.status, e.attempts) for e in state.iter_entities("model")}
    assert ("done", 1) in statuses.values() and ("pending", 0) in statuses.values()
    assert all(status in ("done", "pending") for status, _ in statuses.values()), statuses  # none failed, none held
    assert main(["--output-dir", str(out), "models", "--limit", "5"]) == 0  # space freed: the rest goes in
    with StateStore(out / "state.sqlite") as state, EmbeddedStore(out / "ipfs", readonly=True, create=False) as store:
        assert {e.status for e in state.iter_entities("model")} == {"done"}
        assert store.verify().ok


def test_a_bug_is_raised_not_recorded_as_the_repos_failure(
    hf_env: Any, hub_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = hf_env.use(hub_factory(_repos()))
    _disk_fills_after(monkeypatch, 0, ZeroDivisionError("a bug"))
    config = make_config(emu, tmp_path / "out")
    with pytest.raises(ZeroDivisionError):
        run_mirror(config, limit=5, workers=1)
    with StateStore(config.output_dir / "state.sqlite") as state:
        assert {e.status for e in state.iter_entities("model")} == {"pending"}



def test_a_repo_that_keeps_failing_waits_longer_each_time_is_never_given_up_and_status_says_when(
    hf_env: Any, hub_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = hf_env.use(hub_factory(_repos()))
    calls = _failing_tree(monkeypatch, "org/repo-2", times=10**6)
    config = make_config(emu, tmp_path / "out", scrape__retries=0, scrape__retry_spacing="1h")
    waits = []
    for run in range(2):
        if run:  # the hour passes: the retry is due
            with sqlite3.connect(config.output_dir / "state.sqlite") as db:
                db.execute("UPDATE entities SET retry_at = 0 WHERE id = 'org/repo-2'")
        before = time.time()
        assert (run_mirror(config, limit=5).failed, len(calls)) == (1, run + 1)
        with StateStore(config.output_dir / "state.sqlite") as state:
            waits.append(state.get("model", "org/repo-2").retry_at - before)
    assert 3_500 < waits[0] < 3_700 and 7_100 < waits[1] < 7_300, waits  # 1 h, then 2 h
    again = run_mirror(config, limit=5)  # not yet due: not asked for at all
    assert (again.failed, again.waiting, len(calls)) == (0, 1, 2) and "1 waiting to be retried" in str(again)
    assert main(["--output-dir", str(config.output_dir), "status"]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("failed ")]
    assert len(line) == 1 and line[0].startswith("failed model org/repo-2: 2 failures, next try 20"), line
    assert "TransientHubError" in line[0]


def test_the_removed_max_attempts_key_is_explained(tmp_path: Path) -> None:
    from hf_ipfs_scraper import load_config
    from hf_ipfs_scraper.errors import ConfigError

    path = tmp_path / "c.toml"
    path.write_text("[scrape]\nmax_attempts = 3\n")
    with pytest.raises(ConfigError, match=r"scrape.max_attempts was removed: .*scrape.retry_spacing"):
        load_config(path, env={})
