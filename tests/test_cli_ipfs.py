"""The ``ipfs`` command group, run as a user runs it: Kubo's output lines, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hf_ipfs_scraper.cli.main import main

PLANETS = "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY"


@pytest.fixture
def planets(tmp_path: Path) -> Path:
    d = tmp_path / "planets"
    d.mkdir()
    (d / "mars.txt").write_bytes(b"Hello Mars!\n")
    (d / "venus.txt").write_bytes(b"Hello Venus!\n")
    return d


def run(capsys: pytest.CaptureFixture[str], store: Path, *args: str) -> tuple[int, str, str]:
    code = main(["ipfs", "--store", str(store), *args])
    out, err = capsys.readouterr()
    return code, out, err


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "hf_ipfs_scraper.cli.main", *args], input=stdin, capture_output=True, timeout=60
    )


def test_add_recursive_prints_kubo_lines(capsys, tmp_path, planets) -> None:
    code, out, _ = run(capsys, tmp_path / "s", "add", "-r", str(planets))
    assert code == 0
    assert out.splitlines() == [
        "added QmPrrHqJzto9m7SyiRzarwkqPcCSsKR2EB1AyqJfe8L8tN planets/mars.txt",
        "added QmU5kp3BH3B8tnWUU2Pikdb2maksBNkb92FHRr56hyghh4 planets/venus.txt",
        f"added {PLANETS} planets",
    ]
    code, out, _ = run(capsys, tmp_path / "s", "pin", "ls")
    assert out.split() == [PLANETS, "recursive"]


def test_add_quiet_quieter_only_hash(capsys, tmp_path, planets) -> None:
    store = tmp_path / "s"
    code, out, _ = run(capsys, store, "add", "-r", "-Q", "-n", str(planets))
    assert (code, out) == (0, PLANETS + "\n")
    assert not store.exists(), "--only-hash must not create or write a store"
    code, out, _ = run(capsys, store, "add", "-r", "-q", str(planets))
    assert out.splitlines()[-1] == PLANETS and len(out.splitlines()) == 3


def test_add_flags_cid_version_and_raw_leaves(capsys, tmp_path) -> None:
    f = tmp_path / "hello.txt"
    f.write_bytes(b"hello world")
    store = tmp_path / "s"
    assert run(capsys, store, "add", "-Q", str(f))[1].strip() == "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"
    v1 = run(capsys, store, "add", "-Q", "--cid-version", "1", str(f))[1].strip()
    assert v1 == "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    no_raw = run(capsys, store, "add", "-Q", "--cid-version", "1", "--raw-leaves=false", str(f))[1].strip()
    assert no_raw.startswith("bafybei"), no_raw
    profile = run(capsys, store, "add", "-Q", "--profile", "unixfs-v1-2025", str(f))[1].strip()
    assert profile == v1


def test_kubo_boolean_flags_take_a_value_only_after_equals(capsys, tmp_path, planets) -> None:
    """As in Kubo, ``--raw-leaves PATH`` is the bare flag then a path (it used to swallow the path
    and exit 2); ``--raw-leaves=false``/``=true`` (any case) and ``--no-raw-leaves`` also work."""
    store = tmp_path / "s"
    bare = run(capsys, store, "add", "-r", "-Q", "--raw-leaves", str(planets))
    assert bare[0] == 0 and bare[1].strip() != PLANETS  # raw leaves change the root
    assert run(capsys, store, "add", "-r", "-Q", "--raw-leaves=TRUE", str(planets))[1] == bare[1]
    for spelling in ("--raw-leaves=false", "--raw-leaves=0", "--no-raw-leaves"):
        assert run(capsys, store, "add", "-r", "-Q", spelling, str(planets))[1].strip() == PLANETS, spelling
    other = tmp_path / "other"
    run(capsys, other, "add", "-r", "-Q", "--pin=false", str(planets))
    assert run(capsys, other, "pin", "ls")[1].strip() == ""
    with pytest.raises(SystemExit) as refused:
        run(capsys, store, "add", "--pin=maybe", str(planets))
    assert refused.value.code == 2 and "--pin" in capsys.readouterr().err


def test_log_level_in_any_case(tmp_path, planets) -> None:
    done = cli("--log-level", "debug", "ipfs", "--store", str(tmp_path / "s"), "add", "-r", "-Q", str(planets))
    assert done.returncode == 0 and done.stdout.decode().strip() == PLANETS


def test_hidden_files_need_H(capsys, tmp_path, planets) -> None:
    (planets / ".secret").write_bytes(b"x")
    _, out, _ = run(capsys, tmp_path / "s", "add", "-r", "-Q", str(planets))
    assert out.strip() == PLANETS
    _, out, _ = run(capsys, tmp_path / "s", "add", "-r", "-H", "-Q", str(planets))
    assert out.strip() != PLANETS


def test_cat_by_cid_and_path(capsysbinary, tmp_path, planets) -> None:
    store = tmp_path / "s"
    assert main(["ipfs", "--store", str(store), "add", "-r", "-Q", str(planets)]) == 0
    capsysbinary.readouterr()
    assert main(["ipfs", "--store", str(store), "cat", f"/ipfs/{PLANETS}/venus.txt"]) == 0
    assert capsysbinary.readouterr().out == b"Hello Venus!\n"


def test_directory_without_r_is_one_line_error(capsys, tmp_path, planets) -> None:
    code, out, err = run(capsys, tmp_path / "s", "add", str(planets))
    assert code == 1 and out == ""
    assert err == f"Error: {planets} is a directory, use the '-r' flag to add directories\n"


def test_car_round_trip_between_stores(tmp_path, planets) -> None:
    a, b, car = tmp_path / "a", tmp_path / "b", tmp_path / "p.car"
    assert cli("ipfs", "--store", str(a), "add", "-r", "-Q", str(planets)).returncode == 0
    exported = cli("ipfs", "--store", str(a), "dag", "export", PLANETS)
    assert exported.returncode == 0
    car.write_bytes(exported.stdout)
    imported = cli("ipfs", "--store", str(b), "dag", "import", str(car))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.decode() == f"Pinned root\t{PLANETS}\tsuccess\n"
    assert cli("ipfs", "--store", str(b), "cat", f"{PLANETS}/mars.txt").stdout == b"Hello Mars!\n"
    # the same through stdin
    c = tmp_path / "c"
    assert cli("ipfs", "--store", str(c), "dag", "import", stdin=exported.stdout).returncode == 0


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_bad_car_is_refused_without_traceback(tmp_path, planets, damage) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    cli("ipfs", "--store", str(a), "add", "-r", "-Q", str(planets))
    car = bytearray(cli("ipfs", "--store", str(a), "dag", "export", PLANETS).stdout)
    if damage == "truncate":
        car = car[:-5]
    elif damage == "flip":
        car[-3] ^= 0xFF
    else:
        car += b"\x05garbage"
    result = cli("ipfs", "--store", str(b), "dag", "import", stdin=bytes(car))
    err = result.stderr.decode()
    assert result.returncode == 1
    assert err.startswith("Error: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert cli("ipfs", "--store", str(b), "pin", "ls").stdout == b""


def test_unknown_cid_is_not_found_fast(tmp_path, planets) -> None:
    store = tmp_path / "s"
    cli("ipfs", "--store", str(store), "add", "-r", "-Q", str(planets))
    result = cli("ipfs", "--store", str(store), "cat", "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn")
    assert result.returncode == 1
    assert b"not found" in result.stderr and b"Traceback" not in result.stderr
    bad = cli("ipfs", "--store", str(store), "cat", "not-a-cid")
    assert bad.returncode == 1 and bad.stderr.startswith(b"Error: invalid CID")


def test_verify_reports_corruption_and_gc_frees(capsys, tmp_path, planets) -> None:
    store = tmp_path / "s"
    run(capsys, store, "add", "-r", "-Q", str(planets))
    code, out, _ = run(capsys, store, "repo", "verify")
    assert code == 0 and "all 3 blocks validated" in out
    victim = next((store / "blocks").rglob("*.data"))
    data = bytearray(victim.read_bytes())
    data[0] ^= 0xFF
    victim.write_bytes(bytes(data))
    code, out, err = run(capsys, store, "repo", "verify")
    assert code == 1 and "corrupt block" in out and err.startswith("Error: verify found 1 corrupt")
    victim.write_bytes(bytes(data[:0]) + bytes([data[0] ^ 0xFF]) + bytes(data[1:]))
    assert run(capsys, store, "pin", "rm", PLANETS)[0] == 0
    code, out, _ = run(capsys, store, "repo", "gc")
    assert out.strip().startswith("removed 3 blocks")
    code, out, _ = run(capsys, store, "repo", "stat")
    assert "NumObjects:        0" in out


def test_not_a_store_and_bad_config(tmp_path, planets) -> None:
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("mine")
    result = cli("ipfs", "--store", str(junk), "add", "-Q", str(planets / "mars.txt"))
    assert result.returncode == 1 and b"not" in result.stderr and b"store" in result.stderr
    assert (junk / "notes.txt").read_text() == "mine"
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[store]\nprofile = "v9"\n')
    result = cli("--config", str(cfg), "ipfs", "add", "-Q", str(planets / "mars.txt"))
    assert result.returncode == 2
    assert result.stderr.decode().startswith(f"Error: {cfg}: store.profile = 'v9' is not valid")
