"""Every setting once — default, type, help — and how a value is chosen.

Precedence: defaults < TOML file (``--config``) < environment < CLI flags. Environment names are
``HF_IPFS_SCRAPER_<KEY>`` with dots as double underscores (``store.profile`` →
``HF_IPFS_SCRAPER_STORE__PROFILE``); the Hub's own ``HF_ENDPOINT`` and ``HF_TOKEN`` are honoured too
(the project's names win when both are set). ``config.example.toml`` documents each key; tests check
it lists exactly these keys and that every key changes something the code reads.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import ConfigError
from .ipfs.options import PROFILES
from .shard import Shard

ENV_PREFIX = "HF_IPFS_SCRAPER_"
REPO_KINDS = ("models", "datasets", "spaces")
PLANS = ("auto", "anonymous", "free", "pro")
BACKENDS = ("embedded", "kubo", "cluster")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_size(value: str | int) -> int:
    """``"10GB"`` → 10_000_000_000; ``"1GiB"`` → 2**30; a plain number is bytes; 0 means no limit."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("must not be negative")
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError("expected a size like 500MB, 10GB or 1GiB")
    number, unit = float(match.group(1)), (match.group(2) or "").upper()
    factor = 1024 ** "BKMGT".index(unit[0]) if "I" in unit and unit[0] in "KMGT" else _UNITS[unit.rstrip("B") or ""]
    return int(number * factor)


def parse_duration(value: str | int) -> float:
    """``"24h"``, ``"30m"``, ``"90s"``, ``"1d"`` or seconds → seconds (must be > 0)."""
    match = _DURATION.match(str(value))
    if not match or float(match.group(1)) <= 0:
        raise ValueError("expected a duration like 90s, 30m, 24h or 1d")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _str_list(value: Any) -> list[str]:
    if isinstance(value, str):  # from the environment: comma-separated
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError("expected a list of strings")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    number = int(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _positive(value: Any) -> int:
    number = _int(value)
    if number == 0:
        raise ValueError("must be at least 1")
    return number


def _replication(value: Any) -> int:
    """A cluster replication factor: a peer count, or -1 for every peer (the cluster's own default)."""
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    number = int(value)
    if number < -1 or number == 0:
        raise ValueError("expected a number of peers (1 or more), or -1 for every peer")
    return number


def _shard(value: Any) -> Shard | None:
    text = _str(value).strip()
    return Shard.parse(text) if text else None


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()  # from the environment
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _types(value: Any) -> list[str]:
    names = _str_list(value)
    unknown = [n for n in names if n not in REPO_KINDS]
    if unknown or not names:
        raise ValueError(f"expected some of {', '.join(REPO_KINDS)}")
    return list(dict.fromkeys(names))


@dataclass(frozen=True, slots=True)
class Setting:
    key: str
    default: Any
    parse: Callable[[Any], Any]
    help: str
    choices: tuple[str, ...] = ()
    also_env: str | None = None  # a standard variable also honoured (HF_ENDPOINT, HF_TOKEN)

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.key.upper().replace(".", "__")

    @property
    def attr(self) -> str:
        return self.key.replace(".", "_")


SETTINGS: tuple[Setting, ...] = (
    Setting("output_dir", "./hf_mirror", _str, "Where the mirror writes metadata, state and the embedded store."),
    Setting("store.path", "", _str, "Embedded block store directory; empty means <output_dir>/ipfs."),
    Setting("store.profile", "unixfs-v0-2015", _str, "Kubo import profile for new content.", PROFILES),
    Setting("storage.backend", "embedded", _str, "Where mirrored content is pinned: the embedded store, a Kubo daemon, or an IPFS Cluster.", BACKENDS),
    Setting("kubo.api", "/ip4/127.0.0.1/tcp/5001", _str, "The Kubo daemon's RPC address (multiaddr or URL).", also_env="KUBO_API_URL"),
    Setting("kubo.timeout", "30s", parse_duration, "Timeout of one call to the Kubo daemon (a daemon asked for a block it lacks waits forever)."),
    Setting("cluster.api", "http://127.0.0.1:9094", _str, "The IPFS Cluster REST API address (URL or multiaddr)."),
    Setting("cluster.ipfs_api", "/ip4/127.0.0.1/tcp/9095", _str, "A cluster peer's IPFS RPC (its proxy, or its Kubo) for reading content back."),
    Setting("cluster.username", "", _str, "Basic-auth user of the cluster REST API (empty = none)."),
    Setting("cluster.password", "", _str, "Basic-auth password of the cluster REST API."),
    Setting("cluster.token", "", _str, "Bearer token of the cluster REST API (empty = none)."),
    Setting("cluster.replication_min", -1, _replication, "A pin counts as done once this many peers have pinned it (-1 = every peer)."),
    Setting("cluster.replication_max", -1, _replication, "At most this many peers pin each repo (-1 = every peer)."),
    Setting("cluster.timeout", "30s", parse_duration, "Timeout of one call to the cluster REST API."),
    Setting("cluster.pin_timeout", "10m", parse_duration, "How long a pin may take to reach replication_min peers before the repo fails."),
    Setting("hub.endpoint", "https://huggingface.co", _str, "Hub base URL.", also_env="HF_ENDPOINT"),
    Setting("hub.token", "", _str, "Hub access token (gated repos need one with access).", also_env="HF_TOKEN"),
    Setting("hub.plan", "auto", _str, "Rate-limit plan: auto (anonymous without token, free with one), anonymous, free, pro.", PLANS),
    Setting("hub.quota_api", 0, _int, "Override the plan's 'api' requests per 5 minutes (0 = plan default)."),
    Setting("hub.quota_resolvers", 0, _int, "Override the plan's 'resolvers' (file downloads) per 5 minutes (0 = plan default)."),
    Setting("hub.quota_pages", 0, _int, "Override the plan's 'pages' requests per 5 minutes (0 = plan default)."),
    Setting("hub.max_concurrency", 8, _positive, "Ceiling for concurrent Hub requests (the limiter adapts below it)."),
    Setting("scrape.limit", 10, _positive, "How many top trending repos a run mirrors."),
    Setting("scrape.workers", 4, _positive, "Repos mirrored in parallel."),
    Setting("scrape.retry_spacing", "1h", parse_duration, "A failed repo waits this long before a later run tries it again, twice as long after each failure (at most 7 days); it is never given up."),
    Setting("scrape.retries", 4, _int, "Times a run asks again, with backoff, for a file, a repo's tree or a listing page after a failure a retry may cure (5xx, 429, a dropped, cut-short or corrupted answer)."),
    Setting("scrape.shard", "", _shard, "This machine's share of the entities, i/n (e.g. 1/3); empty = all."),
    Setting("filters.include", [], _str_list, "Glob patterns of repo files to keep (empty = all)."),
    Setting("filters.exclude", [], _str_list, "Glob patterns of repo files to leave out."),
    Setting("filters.max_file_size", "10GB", parse_size, "Files larger than this are left out (0 = no limit)."),
    Setting("filters.max_repo_size", "50GB", parse_size, "Repos whose kept files exceed this are skipped (0 = no limit)."),
    Setting("filters.authors", [], _str_list, "Only repos of these authors/organisations (empty = any)."),
    Setting("filters.min_likes", 0, _int, "Only repos with at least this many likes."),
    Setting("filters.min_downloads", 0, _int, "Only repos with at least this many downloads."),
    Setting("models.pipeline_tags", [], _str_list, "Only models with one of these pipeline tags (empty = any)."),
    Setting("models.libraries", [], _str_list, "Only models of one of these libraries (empty = any)."),
    Setting("datasets.task_categories", [], _str_list, "Only datasets with one of these task categories (empty = any)."),
    Setting("datasets.full", False, _bool, "Mirror every file of a dataset (within the file filters), not only a sample."),
    Setting("datasets.sample_size", "50MB", parse_size, "Bytes of data files a dataset keeps by default (the sample; 0 = none)."),
    Setting("datasets.preview", True, _bool, "Fetch the dataset viewer's splits and first rows into preview_info.json."),
    Setting("datasets.viewer_endpoint", "https://datasets-server.huggingface.co", _str, "Dataset viewer API base URL."),
    Setting("datasets.viewer_timeout", "10s", parse_duration, "Timeout of one dataset viewer request."),
    Setting("spaces.sdks", [], _str_list, "Only Spaces with one of these SDKs (gradio, streamlit, static, docker; empty = any)."),
    Setting("sync.every", "24h", parse_duration, "Interval between runs of `sync`."),
    Setting("sync.types", ["models"], _types, "Repo types each `sync` run mirrors, in order (models, datasets, spaces)."),
)
# Keys that moved: a config file naming the old one gets told the new name.
_MOVED = {"filters.pipeline_tags": "models.pipeline_tags", "filters.libraries": "models.libraries"}
# Keys that are gone: a config file naming one gets told why and what took its place.
_REMOVED = {"scrape.max_attempts": "a failed repo is no longer given up: later runs try it again, further apart "
                                   "each time (scrape.retry_spacing)"}
_BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True, slots=True)
class Config:
    """Resolved settings; attribute names are the keys with dots as underscores."""

    output_dir: Path
    store_path: Path
    store_profile: str
    storage_backend: str
    kubo_api: str
    kubo_timeout: float
    cluster_api: str
    cluster_ipfs_api: str
    cluster_username: str
    cluster_password: str = field(repr=False)
    cluster_token: str = field(repr=False)
    cluster_replication_min: int
    cluster_replication_max: int
    cluster_timeout: float
    cluster_pin_timeout: float
    hub_endpoint: str
    hub_token: str = field(repr=False)  # secrets stay out of logs and tracebacks
    hub_plan: str
    hub_quota_api: int
    hub_quota_resolvers: int
    hub_quota_pages: int
    hub_max_concurrency: int
    scrape_limit: int
    scrape_workers: int
    scrape_retries: int
    scrape_retry_spacing: float
    scrape_shard: Shard | None
    filters_include: tuple[str, ...]
    filters_exclude: tuple[str, ...]
    filters_max_file_size: int
    filters_max_repo_size: int
    filters_authors: tuple[str, ...]
    filters_min_likes: int
    filters_min_downloads: int
    models_pipeline_tags: tuple[str, ...]
    models_libraries: tuple[str, ...]
    datasets_task_categories: tuple[str, ...]
    datasets_full: bool
    datasets_sample_size: int
    datasets_preview: bool
    datasets_viewer_endpoint: str
    datasets_viewer_timeout: float
    spaces_sdks: tuple[str, ...]
    sync_every: float
    sync_types: tuple[str, ...]
    source: str = "defaults"


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, full + "."))
        else:
            flat[full] = value
    return flat


def _did_you_mean(key: str) -> str:
    """``" (did you mean 'scrape.limit'?)"`` for a key a typo away from a known one, else ``""``: the
    whole key first, then its name alone (the right name in the wrong section, ``[scrap] limit``)."""
    import difflib  # only for a wrong key: not at every start

    close = difflib.get_close_matches(key, list(_BY_KEY), n=1, cutoff=0.75)
    if not close:
        names = {k.rpartition(".")[2]: k for k in reversed(list(_BY_KEY))}  # a name's first key wins
        close = [names[n] for n in difflib.get_close_matches(key.rpartition(".")[2], list(names), n=1, cutoff=0.8)]
    return f" (did you mean {close[0]!r}?)" if close else ""


SECRETS = frozenset({"hub.token", "cluster.password", "cluster.token"})  # never echoed in an error


def _check(setting: Setting, value: Any, where: str) -> Any:
    shown = f"<a {type(value).__name__}, not shown>" if setting.key in SECRETS else repr(value)
    try:
        parsed = setting.parse(value)
    except (TypeError, ValueError) as exc:
        why = "expected a string" if setting.key in SECRETS else str(exc)  # the parser's words may quote the value
        raise ConfigError(f"{where}: {setting.key} = {shown} is not valid: {why} ({setting.help})") from None
    if setting.choices and parsed not in setting.choices:
        raise ConfigError(f"{where}: {setting.key} = {shown} is not valid: expected one of {', '.join(setting.choices)}")
    return parsed


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The TOML file at ``path`` as a table; a missing or malformed file is a :class:`ConfigError`."""
    if sys.version_info >= (3, 11):  # imported only when there is a file to read: 3 ms of a start
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Resolve every setting from defaults, the TOML file, the environment and ``overrides``."""
    env = os.environ if env is None else env
    values = {s.key: _check(s, s.default, "default") for s in SETTINGS}
    source = "defaults"
    if path is not None:
        source = str(path)
        table = read_toml(path)
        for key, value in _flatten(table).items():
            if key in _MOVED:
                raise ConfigError(f"{path}: {key} is now {_MOVED[key]}; rename the key")
            if key in _REMOVED:
                raise ConfigError(f"{path}: {key} was removed: {_REMOVED[key]}; delete the key")
            if key not in _BY_KEY:
                raise ConfigError(f"{path}: unknown key {key!r}{_did_you_mean(key)}; known keys: {', '.join(_BY_KEY)}")
            values[key] = _check(_BY_KEY[key], value, str(path))
    for setting in SETTINGS:
        for name in (setting.also_env, setting.env):  # the project's own name wins
            if name and env.get(name, "") != "":
                values[setting.key] = _check(setting, env[name], f"environment {name}")
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _check(_BY_KEY[key], value, "command line")
    output_dir = Path(values.pop("output_dir")).expanduser()
    store_path = values.pop("store.path")
    fields = {k.replace(".", "_"): tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return Config(
        output_dir=output_dir,
        store_path=Path(store_path).expanduser() if store_path else output_dir / "ipfs",
        source=source,
        **fields,  # type: ignore[arg-type]  # each value was parsed by its Setting
    )
