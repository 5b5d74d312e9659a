"""Every setting once — default, type, help — and how a value is chosen.

Precedence: defaults < TOML file (``--config``) < environment (``HF_IPFS_SCRAPER_<KEY>``, dots as
double underscores: ``store.profile`` → ``HF_IPFS_SCRAPER_STORE__PROFILE``) < CLI flags.
``config.example.toml`` documents each key; a test checks it lists exactly these keys and that
every key is read somewhere in the code.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError
from .ipfs.options import PROFILES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

ENV_PREFIX = "HF_IPFS_SCRAPER_"


@dataclass(frozen=True, slots=True)
class Setting:
    key: str
    default: Any
    type: type
    help: str
    choices: tuple[str, ...] = ()

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.key.upper().replace(".", "__")


SETTINGS: tuple[Setting, ...] = (
    Setting("output_dir", "./hf_mirror", str, "Where the mirror writes metadata, state and the embedded store."),
    Setting("store.path", "", str, "Embedded block store directory; empty means <output_dir>/ipfs."),
    Setting(
        "store.profile",
        "unixfs-v0-2015",
        str,
        "Kubo import profile for new content: unixfs-v0-2015 (Kubo's default, CIDv0) or unixfs-v1-2025.",
        PROFILES,
    ),
)
_BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True, slots=True)
class Config:
    output_dir: Path
    store_path: Path
    store_profile: str
    source: str = "defaults"

    @property
    def values(self) -> dict[str, Any]:
        return {"output_dir": str(self.output_dir), "store.path": str(self.store_path), "store.profile": self.store_profile}


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, full + "."))
        else:
            flat[full] = value
    return flat


def _check(setting: Setting, value: Any, where: str) -> Any:
    if setting.type is int and isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            pass
    if not isinstance(value, setting.type) or (setting.type is int and isinstance(value, bool)):
        raise ConfigError(
            f"{where}: {setting.key} = {value!r} is not valid: expected {setting.type.__name__} ({setting.help})"
        )
    if setting.choices and value not in setting.choices:
        raise ConfigError(f"{where}: {setting.key} = {value!r} is not valid: expected one of {', '.join(setting.choices)}")
    return value


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Resolve every setting from defaults, the TOML file, the environment and ``overrides``."""
    env = os.environ if env is None else env
    values = {s.key: s.default for s in SETTINGS}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as fh:
                table = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        for key, value in _flatten(table).items():
            if key not in _BY_KEY:
                raise ConfigError(f"{path}: unknown key {key!r}; known keys: {', '.join(_BY_KEY)}")
            values[key] = _check(_BY_KEY[key], value, str(path))
    for setting in SETTINGS:
        if setting.env in env:
            values[setting.key] = _check(setting, env[setting.env], f"environment {setting.env}")
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _check(_BY_KEY[key], value, "command line")
    output_dir = Path(values["output_dir"]).expanduser()
    store_path = Path(values["store.path"]).expanduser() if values["store.path"] else output_dir / "ipfs"
    return Config(output_dir, store_path, values["store.profile"], source)
