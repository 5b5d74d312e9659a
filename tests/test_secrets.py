"""Secrets never leave the process (issue 10, point 5): the Hub token and the Cluster credentials
appear in no log line at any level, no file of the archive (state DB, metadata, export, snapshot,
CAR), no error message and no API answer.

Every command a user runs over an archive is run at ``--log-level DEBUG`` with the secrets set
(the Hub token accepted by the emulator, so gated repos are mirrored with it; Cluster credentials
in the environment, as a user with a cluster configured has them), plus the failures where a
secret is most likely echoed: a Hub that is down, a Cluster that is down, a config file whose
token has the wrong type. Then every byte written under the output directory and every byte
printed is searched for each secret, and for the forms it travels in (base64 of ``user:password``
for basic auth, ``Bearer <token>``)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.error import HTTPError

from tests.hubemu import ACCESS_TOKEN, build_corpus
from tests.test_web_hub import ServerThread

CLI = [sys.executable, "-m", "hf_ipfs_scraper.cli.main", "--log-level", "DEBUG"]
CLUSTER_USER, CLUSTER_PASSWORD, CLUSTER_TOKEN = "archivist", "cluster-pw-9f3e7c1d", "cluster-bearer-5b2a8e44"
SECRETS = (ACCESS_TOKEN, CLUSTER_PASSWORD, CLUSTER_TOKEN,
           base64.b64encode(f"{CLUSTER_USER}:{CLUSTER_PASSWORD}".encode()).decode())


def _leaks(data: bytes) -> list[str]:
    return [secret for secret in SECRETS if secret.encode() in data]


def test_no_secret_in_any_output_log_file_error_or_answer(hf_env, hub_factory, tmp_path: Path) -> None:
    corpus = build_corpus(n_models=8, seed=3, n_datasets=3, n_spaces=3)
    emu = hub_factory(corpus)
    env = {**hf_env.subprocess_env(emu), "HF_TOKEN": ACCESS_TOKEN,
           "HF_IPFS_SCRAPER_CLUSTER__USERNAME": CLUSTER_USER, "HF_IPFS_SCRAPER_CLUSTER__PASSWORD": CLUSTER_PASSWORD,
           "HF_IPFS_SCRAPER_CLUSTER__TOKEN": CLUSTER_TOKEN}
    out = tmp_path / "out"
    printed: list[tuple[str, bytes]] = []

    def run(*args: str, ok: bool = True, environment: dict[str, str] | None = None) -> str:
        done = subprocess.run([*CLI, "--output-dir", str(out), *args], env=environment or env,
                              capture_output=True, timeout=300)
        printed.append((" ".join(args), done.stdout + done.stderr))
        assert (done.returncode == 0) == ok, (args, done.stderr.decode()[-2000:])
        return done.stdout.decode()

    run("all", "--models", "6", "--datasets", "2", "--spaces", "2", "--workers", "2")
    with_token = json.loads(run("status", "--json"))
    run("trending", "--json")
    run("export")
    run("search", "bert", "--json")
    run("reindex")
    snapshot = json.loads(run("snapshots", "--json"))[0]["cid"]
    car = tmp_path / "snapshot.car"
    car.write_bytes(subprocess.run([*CLI, "--output-dir", str(out), "ipfs", "dag", "export", snapshot],
                                   env=env, capture_output=True, timeout=120, check=True).stdout)
    run("provenance", "export")
    run("catalog", "--types", "spaces")
    run("ipfs", "repo", "verify")
    # The failures where a secret is most likely echoed:
    down = {**env, "HF_IPFS_SCRAPER_SCRAPE__RETRIES": "0"}
    run("models", "--limit", "2", ok=False, environment={**down, "HF_ENDPOINT": "http://127.0.0.1:9"})
    run("--backend", "cluster", "models", "--limit", "1", ok=False,
        environment={**down, "HF_IPFS_SCRAPER_CLUSTER__API": "http://127.0.0.1:9"})
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[hub]\ntoken = ["{ACCESS_TOKEN}"]\n[cluster]\npassword = 5\n')
    done = subprocess.run([*CLI, "--config", str(bad), "status"], env=env, capture_output=True, timeout=60)
    printed.append(("--config bad.toml status", done.stdout + done.stderr))
    assert done.returncode == 2 and b"hub.token" in done.stderr

    # The token really was used (a gated repo mirrored with it), so a leak had a chance to happen.
    assert with_token["entities"]["model"].get("done", 0) >= 5, with_token
    gated = {r.id for r in corpus if r.gated and not r.private and r.type == "model"}
    mirrored = {h["id"] for h in json.loads(run("search", "--type", "model", "--mirrored", "--json", "--limit", "50"))["hits"]}
    assert gated & mirrored, (gated, mirrored)

    answers: list[tuple[str, bytes]] = []
    from hf_ipfs_scraper.web.app import create_app

    with ServerThread(create_app(out, gateway=True)) as server:
        targets = ["/api/health", "/api/search?q=bert", "/api/jobs", "/api/jobs/1/models", "/",
                   "/api/search?q=%22" + ACCESS_TOKEN + "%22"]
        models = [e["id"] for e in json.loads(run("search", "--type", "model", "--json"))["hits"]]
        for repo in models[:4]:
            targets += [f"/api/entities/model/{repo}", f"/api/provenance/model/{repo}", f"/api/models/{repo}",
                        f"/api/models/{repo}/tree/main", f"/{repo}/resolve/main/README.md", f"/{repo}/resolve/main/config.json"]
        for target in targets:
            try:
                with urllib.request.urlopen(server.url + target, timeout=30) as response:
                    answers.append((target, bytes(str(response.headers), "latin-1") + response.read()))
            except HTTPError as exc:  # a 404 answer is an answer too
                answers.append((target, bytes(str(exc.headers), "latin-1") + exc.read()))
    assert len(answers) >= 20

    files = [p for p in [*out.rglob("*"), car] if p.is_file()]
    assert len(files) >= 50 and any(p.suffix == ".parquet" for p in files) and any(p.name == "state.sqlite" for p in files)
    found = [(str(p.relative_to(tmp_path)), _leaks(p.read_bytes())) for p in files]
    found += [(f"printed by `{what}`", _leaks(text)) for what, text in printed]
    found += [(f"answer to {target}", _leaks(body)) for target, body in answers]
    leaks = [(where, which) for where, which in found if which]
    assert not leaks, leaks
    print(f"\nsecrets: {len(files)} files, {len(printed)} commands' output, {len(answers)} answers searched: 0 leaks")
