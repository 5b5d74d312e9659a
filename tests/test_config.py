from __future__ import annotations

import re
from pathlib import Path

import pytest

from hf_ipfs_scraper.config import SETTINGS, load_config, read_toml
from hf_ipfs_scraper.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults() -> None:
    cfg = load_config(env={})
    assert cfg.output_dir == Path("hf_mirror")
    assert cfg.store_path == Path("hf_mirror/ipfs")
    assert cfg.store_profile == "unixfs-v0-2015"


def test_precedence_file_env_cli(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('output_dir = "/from/file"\n[store]\nprofile = "unixfs-v1-2025"\n')
    assert load_config(f, env={}).output_dir == Path("/from/file")
    assert load_config(f, env={}).store_profile == "unixfs-v1-2025"
    env = {"HF_IPFS_SCRAPER_OUTPUT_DIR": "/from/env", "HF_IPFS_SCRAPER_STORE__PROFILE": "unixfs-v0-2015"}
    cfg = load_config(f, env=env)
    assert (cfg.output_dir, cfg.store_profile) == (Path("/from/env"), "unixfs-v0-2015")
    cfg = load_config(f, env=env, overrides={"output_dir": "/from/cli"})
    assert cfg.output_dir == Path("/from/cli")
    assert cfg.store_path == Path("/from/cli/ipfs")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[store]\nprofile = "unixfs-v9"\n', "store.profile = 'unixfs-v9' is not valid: expected one of"),
        ("output_dir = 3\n", "output_dir = 3 is not valid: expected a string"),
        ('outptu_dir = "x"\n', "unknown key 'outptu_dir' (did you mean 'output_dir'?)"),
        ("[scrape]\nlimt = 3\n", "unknown key 'scrape.limt' (did you mean 'scrape.limit'?)"),
        ("[scrap]\nworkers = 3\n", "unknown key 'scrap.workers' (did you mean 'scrape.workers'?)"),
        ("[scrape]\nzebra = 3\n", "unknown key 'scrape.zebra'; known keys: "),
        ("[scrape]\nlimit = -1\n", "scrape.limit = -1 is not valid: must not be negative"),
        ('[scrape]\nlimit = "ten"\n', "scrape.limit = 'ten' is not valid"),
        ('[storage]\nbackend = "ipfs-cluster"\n', "storage.backend = 'ipfs-cluster' is not valid: expected one of"),
        ("output_dir = \n", "not valid TOML"),
    ],
)
def test_bad_file_names_file_key_value(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(f, env={})
    assert str(f) in str(info.value)
    assert needle in str(info.value)


def test_bad_env_value_names_variable() -> None:
    with pytest.raises(ConfigError, match="HF_IPFS_SCRAPER_STORE__PROFILE"):
        load_config(env={"HF_IPFS_SCRAPER_STORE__PROFILE": "nope"})


def _example_keys() -> set[str]:
    table = read_toml(ROOT / "config.example.toml")
    keys: set[str] = set()
    for key, value in table.items():
        if isinstance(value, dict):
            keys.update(f"{key}.{sub}" for sub in value)
        else:
            keys.add(key)
    return keys


def test_example_documents_exactly_the_settings() -> None:
    assert _example_keys() == {s.key for s in SETTINGS}
    example = load_config(ROOT / "config.example.toml", env={})
    defaults = load_config(env={})
    assert (example.output_dir, example.store_path, example.store_profile) == (
        defaults.output_dir,
        defaults.store_path,
        defaults.store_profile,
    )


_OTHER_VALUES = {
    "output_dir": "/elsewhere",
    "store.path": "/store/here",
    "store.profile": "unixfs-v1-2025",
    "hub.endpoint": "http://127.0.0.1:9",
    "hub.token": "hf_x",
    "hub.plan": "pro",
    "hub.quota_api": 7,
    "hub.quota_resolvers": 8,
    "hub.quota_pages": 9,
    "hub.max_concurrency": 3,
    "scrape.limit": 50,
    "scrape.workers": 2,
    "scrape.retries": 9,
    "scrape.retry_spacing": "2h",
    "filters.include": ["*.json"],
    "filters.exclude": ["*.onnx"],
    "filters.max_file_size": "1GB",
    "filters.max_repo_size": "2GB",
    "filters.authors": ["me"],
    "filters.min_likes": 5,
    "filters.min_downloads": 6,
    "models.pipeline_tags": ["text-generation"],
    "models.libraries": ["gguf"],
    "datasets.task_categories": ["translation"],
    "datasets.full": True,
    "datasets.sample_size": "1GB",
    "datasets.preview": False,
    "datasets.viewer_endpoint": "http://127.0.0.1:9",
    "datasets.viewer_timeout": "3s",
    "spaces.sdks": ["gradio"],
    "sync.every": "1h",
    "sync.types": ["models", "spaces"],
    "scrape.shard": "2/3",
    "storage.backend": "kubo",
    "kubo.api": "http://127.0.0.1:5002",
    "kubo.timeout": "5s",
    "cluster.api": "http://127.0.0.1:9096",
    "cluster.ipfs_api": "/ip4/127.0.0.1/tcp/5002",
    "cluster.username": "archivist",
    "cluster.password": "secret",
    "cluster.token": "bearer-secret",
    "cluster.replication_min": 2,
    "cluster.replication_max": 3,
    "cluster.timeout": "5s",
    "cluster.pin_timeout": "1m",
}


def test_no_dead_keys() -> None:
    """Each setting changes a Config field, and code outside config.py reads that field."""
    assert set(_OTHER_VALUES) == {s.key for s in SETTINGS}
    sources = "\n".join(p.read_text() for p in (ROOT / "hf_ipfs_scraper").rglob("*.py") if p.name != "config.py")
    base = load_config(env={})
    fields = [f for f in base.__dataclass_fields__ if f != "source"]
    for key, value in _OTHER_VALUES.items():
        changed = load_config(env={}, overrides={key: value})
        moved = [f for f in fields if getattr(changed, f) != getattr(base, f)]
        assert moved, f"setting {key} changes nothing"
        assert any(re.search(rf"\.{f}\b", sources) for f in moved), f"setting {key} is never read ({moved})"


def test_sizes_durations_and_standard_env() -> None:
    cfg = load_config(env={"HF_ENDPOINT": "http://hub.local", "HF_TOKEN": "hf_abc"})
    assert (cfg.hub_endpoint, cfg.hub_token) == ("http://hub.local", "hf_abc")
    both = {"HF_ENDPOINT": "http://a", "HF_IPFS_SCRAPER_HUB__ENDPOINT": "http://b"}
    assert load_config(env=both).hub_endpoint == "http://b"
    cfg = load_config(env={"HF_IPFS_SCRAPER_FILTERS__EXCLUDE": "*.onnx, *.h5", "HF_IPFS_SCRAPER_SYNC__EVERY": "30m"})
    assert cfg.filters_exclude == ("*.onnx", "*.h5") and cfg.sync_every == 1800.0
    assert load_config(env={}, overrides={"filters.max_file_size": "1GiB"}).filters_max_file_size == 2**30
    with pytest.raises(ConfigError, match="filters.max_file_size = 'big' is not valid"):
        load_config(env={}, overrides={"filters.max_file_size": "big"})
    with pytest.raises(ConfigError, match="scrape.workers = 0 is not valid: must be at least 1"):
        load_config(env={}, overrides={"scrape.workers": 0})
