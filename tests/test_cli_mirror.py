"""The mirror's commands (``models``, ``status``, ``trending``, ``sync``) as a user runs them: a
subprocess of ``python -m hf_ipfs_scraper.cli.main`` pointed at the Hub emulator by ``HF_ENDPOINT``.

Exit codes: 0 done; 3 the run completed but a repo failed; 1 the operation failed (one ``Error:``
line, no traceback); 2 bad usage or configuration (the file/variable and key named).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hf_ipfs_scraper.state import StateStore
from tests.hubemu import HubEmulator, Repo, RepoFile

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main"]


def _repo(repo_id: str, score: int, *files: RepoFile, **fields: object) -> Repo:
    files = files or (RepoFile("README.md", f"# {repo_id}\n".encode()), RepoFile("config.json", b"{}\n"))
    return Repo("model", repo_id, list(files), trending_score=score, likes=score, downloads=10 * score, **fields)


CORPUS = (
    ("top/first", 50, {}),
    ("top/second", 40, {}),
    ("top/gated", 30, {"gated": "auto"}),
    ("top/third", 20, {}),
    ("top/hidden", 45, {"private": True}),
)


def corpus() -> list[Repo]:
    return [_repo(repo_id, score, **fields) for repo_id, score, fields in CORPUS]  # type: ignore[arg-type]


def run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single ``Error:`` line of stderr; no traceback anywhere."""
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.fixture
def emu(hf_env, hub_factory) -> HubEmulator:
    return hub_factory(corpus())


@pytest.fixture
def env(hf_env, emu) -> dict[str, str]:
    return hf_env.subprocess_env(emu)


def test_models_mirrors_prints_the_summary_then_status_and_trending_report_it(emu, env, tmp_path) -> None:
    out = str(tmp_path / "mirror")
    result = run(["--output-dir", out, "models", "--limit", "4", "--workers", "2"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("run 1 (models) completed in ")
    assert first.endswith(": 4 trending, 3 mirrored, 0 unchanged, 1 skipped, 0 failed")
    # three READMEs and one config.json: the other two repos' identical config.json are reused
    assert "files: 4 downloaded (0.0 MB), 2 reused; Hub requests: api 4, pages 0, resolvers 4;" in result.stdout
    assert "  skipped top/gated: gated: needs an access token" in result.stdout
    assert "top/hidden" not in result.stdout  # private: never listed
    assert emu.counts["tree"] == 3 and emu.counts["resolve_get"] == 4

    status = run(["--output-dir", out, "status"], env, tmp_path)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == "models: done 3, skipped 1"
    assert lines[1].startswith("run 1 models completed started ") and " UTC ended " in lines[1]

    status_json = run(["--output-dir", out, "status", "--json"], env, tmp_path)
    assert status_json.returncode == 0, status_json.stderr
    data = json.loads(status_json.stdout)
    assert data["entities"]["model"] == {"done": 3, "skipped": 1}
    assert [(r["id"], r["key"], r["status"]) for r in data["runs"]] == [(1, "models", "completed")]
    assert data["runs"][0]["stats"]["mirrored"] == 3 and data["runs"][0]["stats"]["files_downloaded"] == 4

    trending = run(["--output-dir", out, "trending"], env, tmp_path)
    assert trending.returncode == 0, trending.stderr
    assert [line.split()[:2] for line in trending.stdout.splitlines()] == [
        ["1", "top/first"], ["2", "top/second"], ["3", "top/gated"], ["4", "top/third"],
    ]
    assert "score=50  likes=50  downloads=500" in trending.stdout.splitlines()[0]

    by_run = run(["--output-dir", out, "trending", "--run", "1", "--json"], env, tmp_path)
    assert by_run.returncode == 0, by_run.stderr
    rows = json.loads(by_run.stdout)
    assert [(r["rank"], r["id"], r["trending_score"]) for r in rows] == [
        (1, "top/first", 50), (2, "top/second", 40), (3, "top/gated", 30), (4, "top/third", 20),
    ]
    assert json.loads(run(["--output-dir", out, "trending", "--json"], env, tmp_path).stdout) == rows

    missing = run(["--output-dir", out, "trending", "--run", "7"], env, tmp_path)
    assert missing.returncode == 1
    assert one_error_line(missing) == "Error: run 7 recorded no trending list of models"


def test_status_and_trending_without_a_mirror_exit_1_with_one_error_line(env, tmp_path) -> None:
    for command in (["status"], ["status", "--json"], ["trending"]):
        result = run(["--output-dir", str(tmp_path / "empty"), *command], env, tmp_path)
        assert result.returncode == 1 and result.stdout == ""
        assert one_error_line(result).startswith(f"Error: no mirror state in {tmp_path / 'empty'} yet")


def test_models_exits_3_when_a_repo_failed_and_names_it(hf_env, hub_factory, tmp_path, monkeypatch) -> None:
    weights = RepoFile("weights.bin", b"\x01" * 70_000, lfs=True)
    emu = hub_factory([_repo("ok/repo", 20), _repo("bad/repo", 10, RepoFile("README.md", b"# bad\n"), weights)])
    with emu._lock:  # the CDN serves the blob with one byte changed; the tree lists the true sha256
        monkeypatch.setitem(emu._lfs, weights.sha256, b"\x02" + weights.data[1:])
    result = run(["--output-dir", str(tmp_path / "m"), "models", "--limit", "5"], hf_env.subprocess_env(emu), tmp_path)
    assert result.returncode == 3, result.stderr
    assert ": 2 trending, 1 mirrored, 0 unchanged, 0 skipped, 1 failed" in result.stdout
    assert "  failed  bad/repo: IntegrityError: weights.bin: sha256 " in result.stdout
    assert "Traceback" not in result.stderr
    with StateStore(tmp_path / "m" / "state.sqlite") as state:
        assert state.get("model", "bad/repo").status == "failed" and state.get("model", "ok/repo").status == "done"


def test_bad_config_values_exit_2_naming_the_file_or_variable_and_the_key(env, tmp_path) -> None:
    config = tmp_path / "mirror.toml"
    config.write_text('[scrape]\nworkers = "many"\n')
    result = run(["--config", str(config), "--output-dir", str(tmp_path / "m"), "models"], env, tmp_path)
    assert result.returncode == 2
    line = one_error_line(result)
    assert line.startswith(f"Error: {config}: scrape.workers = 'many' is not valid")

    result = run(["--output-dir", str(tmp_path / "m"), "models", "--max-file-size", "lots"], env, tmp_path)
    assert result.returncode == 2
    assert one_error_line(result).startswith("Error: command line: filters.max_file_size = 'lots' is not valid")

    result = run(["--output-dir", str(tmp_path / "m"), "models"], {**env, "HF_IPFS_SCRAPER_SCRAPE__LIMIT": "0"}, tmp_path)
    assert result.returncode == 2
    assert one_error_line(result).startswith("Error: environment HF_IPFS_SCRAPER_SCRAPE__LIMIT: scrape.limit = '0'")
    assert not (tmp_path / "m" / "state.sqlite").exists()  # nothing ran


def test_unreachable_endpoint_exits_1_with_one_error_line_and_no_traceback(env, tmp_path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**env, "HF_ENDPOINT": f"http://127.0.0.1:{port}"}
    result = run(["--output-dir", str(tmp_path / "m"), "models", "--limit", "2"], env, tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert one_error_line(result) == f"Error: cannot reach the Hub at http://127.0.0.1:{port}: [Errno 111] Connection refused"
    with StateStore(tmp_path / "m" / "state.sqlite") as state:
        assert [(r.status, r.stats["error"]) for r in state.runs()] == [("failed", one_error_line(result)[7:])]


def test_sync_every_1s_runs_twice_printing_each_summary_and_records_two_trending_snapshots(emu, env, tmp_path) -> None:
    out = str(tmp_path / "mirror")
    started = time.monotonic()
    result = run(["--output-dir", out, "sync", "--every", "1s", "--runs", "2", "--limit", "2"], env, tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    heads = [line for line in result.stdout.splitlines() if line.startswith("run ")]
    assert len(heads) == 2
    assert heads[0].startswith("run 1 (models) completed") and heads[0].endswith("2 mirrored, 0 unchanged, 0 skipped, 0 failed")
    assert heads[1].startswith("run 2 (models) completed") and heads[1].endswith("0 mirrored, 2 unchanged, 0 skipped, 0 failed")
    assert elapsed >= 1.0
    assert emu.counts["list"] == 2 and emu.counts["tree"] == 2  # the second run: the listing only
    with StateStore(Path(out) / "state.sqlite") as state:
        assert state.trending_runs("model") == [2, 1]
        assert [r.id for r in state.trending("model", 1)] == [r.id for r in state.trending("model", 2)] == [
            "top/first", "top/second"
        ]
        runs = state.runs()
        assert [r.status for r in runs] == ["completed", "completed"]
        assert runs[0].started_at - runs[1].started_at >= 1.0


def test_a_second_writer_on_one_output_directory_is_refused_naming_the_holder_and_readers_work_alongside(
    emu, env, tmp_path
) -> None:
    """Issue 10, point 9: while one process mirrors into a directory (here a Mirror held open in this
    process), a second `models` refuses with one line naming the holder's pid; `status`, `search`
    and `trending` read alongside."""
    import os

    from hf_ipfs_scraper import load_config
    from hf_ipfs_scraper.mirror import Mirror

    out = tmp_path / "m"
    assert run(["--output-dir", str(out), "models", "--limit", "2"], env, tmp_path).returncode == 0
    config = load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(out)})
    with Mirror(config):
        second = run(["--output-dir", str(out), "models", "--limit", "2"], env, tmp_path)
        assert second.returncode == 1 and second.stdout == ""
        line = one_error_line(second)
        assert "locked by another writer" in line and f"pid {os.getpid()}" in line, line
        for reader in (["status"], ["trending"], ["search", "bert"]):
            result = run(["--output-dir", str(out), *reader], env, tmp_path)
            assert result.returncode == 0 and "Traceback" not in result.stderr, (reader, result.stderr)
        status = run(["--output-dir", str(out), "status"], env, tmp_path)
        assert status.stdout.startswith("models: done 2"), status.stdout
    with StateStore(out / "state.sqlite") as state:
        assert [r.status for r in state.runs()] == ["completed"]  # the refused run recorded nothing
