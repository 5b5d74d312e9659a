"""The examples run as a user would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_archive_folder_example(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "archive_folder.py"), "--store", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY" in lines[2] and lines[2].endswith("planets")
    assert "read back 'mars.txt': b'Hello Mars!\\n'" in result.stdout
    assert lines[-1].startswith("verify ok=True blocks=3 bytes=")
    assert lines[-1].endswith("root=QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY")
    assert "exported 3 blocks" in result.stdout


def test_mirror_trending_example_against_the_emulator(tmp_path: Path, hub, hf_env) -> None:
    out = tmp_path / "mirror"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "mirror_trending.py"), "--limit", "3", "--output-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=hf_env.subprocess_env(hub),
    )
    assert result.returncode == 0, result.stderr
    assert "trending snapshot of this run:" in result.stdout
    roots = {p.parent.name: p.read_text().strip() for p in (out / "models").glob("*/ipfs_cid.txt")}
    assert roots, result.stdout
    for name, root in roots.items():
        assert f"  {name}: {root}" in result.stdout
    ranked = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("  #")]
    assert 1 <= len(ranked) <= 3


def test_family_tree_example_against_the_emulator(tmp_path: Path, hub_factory, hf_env) -> None:
    from tests.hubemu import Repo, RepoFile, build_corpus

    def model(repo_id: str, score: int, front: str) -> Repo:
        return Repo("model", repo_id, [RepoFile("README.md", f"---\n{front}---\n# {repo_id}\n".encode())],
                    trending_score=score, likes=1)

    family = [
        model("lab/base", 90, "license: mit\ndatasets: [lab/corpus]\n"),
        model("lab/chat", 89, "base_model: lab/base\n"),
        model("lab/chat-gguf", 88, "base_model: lab/chat\nbase_model_relation: quantized\n"),
        model("lab/lora", 87, "base_model: lab/base\nbase_model_relation: adapter\n"),
    ]
    emu = hub_factory(build_corpus(n_models=2, n_datasets=1, n_spaces=1) + family)
    out = tmp_path / "mirror"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "family_tree.py"), "--models", "4", "--datasets", "1",
         "--spaces", "1", "--output-dir", str(out), "-o", str(tmp_path / "tree.svg")],
        capture_output=True, text=True, timeout=300, env=hf_env.subprocess_env(emu),
    )
    assert result.returncode == 0, result.stderr
    assert "  model:lab/base: 2 direct derivatives" in result.stdout
    assert "  model:lab/chat-gguf -> (quantized) model:lab/chat -> (finetune) model:lab/base" in result.stdout
    assert "datasets behind model:lab/base: ['dataset:lab/corpus']" in result.stdout
    assert f"family of model:lab/base drawn to {tmp_path / 'tree.svg'}" in result.stdout
    assert "lab/chat-gguf" in (tmp_path / "tree.svg").read_text()


def test_query_export_example_reads_an_archive_with_duckdb_pandas_and_polars(tmp_path: Path, hub_factory, hf_env) -> None:
    from hf_ipfs_scraper import Mirror, load_config
    from tests.hubemu import Repo, RepoFile, build_corpus

    def model(repo_id: str, score: int, front: str) -> Repo:
        return Repo("model", repo_id, [RepoFile("README.md", f"---\n{front}---\n# {repo_id}\n".encode())],
                    trending_score=score, likes=1, pipeline_tag="text-generation")

    family = [model("lab/base", 90, "license: mit\n"), model("lab/chat", 89, "base_model: lab/base\n"),
              model("lab/lora", 88, "base_model: lab/base\nbase_model_relation: adapter\n")]
    emu = hub_factory(build_corpus(n_models=3, n_datasets=2, n_spaces=1) + family)
    out = tmp_path / "mirror"
    config = load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(out),
                                            "datasets.viewer_endpoint": emu.viewer_endpoint})
    with Mirror(config) as mirror:
        mirror.scrape_all({"model": 6, "dataset": 2, "space": 1})
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "query_export.py"), "--output-dir", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "exported" in result.stdout and "largest models per pipeline tag (DuckDB):" in result.stdout
    assert "entities by type and status (pandas):" in result.stdout
    assert "models whose base is lab/base (polars):" in result.stdout
    assert "  lab/chat  (finetune," in result.stdout and "  lab/lora  (adapter," in result.stdout


def test_download_from_archive_example(tmp_path: Path, hub_factory, hf_env) -> None:
    from hf_ipfs_scraper import Mirror, load_config
    from tests.hubemu import build_corpus

    corpus = build_corpus(n_models=3, n_datasets=1, n_spaces=1, lfs_max_size=64 << 10, with_real_minilm=False)
    emu = hub_factory(corpus)
    out = tmp_path / "mirror"
    config = load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(out),
                                            "datasets.viewer_endpoint": emu.viewer_endpoint})
    with Mirror(config) as mirror:
        summary = mirror.scrape_models(limit=3)
    repo_id = sorted(p.name.replace("__", "/") for p in (out / "models").iterdir())[0]
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "download_from_archive.py"), repo_id, "--output-dir", str(out),
         "--to", str(tmp_path / "dl")],
        capture_output=True, text=True, timeout=300, env=hf_env.subprocess_env(emu),
    )
    assert result.returncode == 0, result.stderr
    assert summary.mirrored >= 1
    assert "files match the archive's CIDs" in result.stdout and "BAD" not in result.stdout
    original = next(r for r in corpus if r.id == repo_id)
    for f in original.files:
        assert (tmp_path / "dl" / f.path).read_bytes() == f.data


def test_search_archive_example(tmp_path: Path, hub_factory, hf_env) -> None:
    from hf_ipfs_scraper import Mirror, load_config
    from tests.hubemu import Repo, RepoFile

    def model(repo_id: str, score: int, text: str) -> Repo:
        return Repo("model", repo_id, [RepoFile("README.md", f"# {repo_id}\n\n{text}\n".encode())],
                    trending_score=score, downloads=score)

    emu = hub_factory([model("de/bert-deutsch", 9, "Ein deutsches Sprachmodell."), model("en/bert", 8, "English."),
                       model("xx/other", 7, "Nothing to see.")])
    out = tmp_path / "mirror"
    with Mirror(load_config(env={}, overrides={"hub.endpoint": emu.endpoint, "output_dir": str(out)})) as mirror:
        mirror.scrape_models(limit=3)
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "search_archive.py"), "bert", "--type", "model",
                             "--output-dir", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("2 repos match 'bert'")
    assert "most downloaded first" in result.stdout and "xx/other" not in result.stdout
