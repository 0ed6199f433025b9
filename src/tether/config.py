"""Settings: defaults, then ``tether.toml`` in the config dir, then ``TETHER_*`` environment variables.

Read only by ``app.py`` and the CLI. Every setting is listed in ``SETTINGS`` with its
documentation, and a test checks that docs/configuration.md covers each one.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from tether.errors import UsageError

SETTINGS: dict[str, str] = {
    "home": "Data dir: database, unpacked extensions, logs, secrets. Env: TETHER_HOME.",
    "database_url": "Team mode: the PostgreSQL database several tether processes share, e.g. "
    "postgresql://tether@db.internal/tether. Empty (default): SQLite in the data dir. Env: "
    "TETHER_DATABASE_URL. Keep a password out of tether.toml: use the env, or `tether db password`.",
    "redis_url": "Team mode: the Redis whose pub/sub relays approvals and activity between tether "
    "processes at once, e.g. redis://redis.internal:6379/0. Empty (default): each process sees the "
    "others' changes by watching the database. Env: TETHER_REDIS_URL.",
    "relay_verdict_poll_s": "Team mode with redis_url: seconds between the database reads of a call "
    "waiting for approval while the relay is up (a decision on another replica wakes it at once; "
    "this only catches a lost message). Without the relay, or while Redis is away: every 0.1 s. "
    "Default 1.",
    "host": "Address the web UI and HTTP gateway bind to. Default 127.0.0.1.",
    "port": "Port of the web UI and HTTP gateway. Default 8765.",
    "approval_timeout_s": "Seconds a call waits for an approval before it expires. Default 300.",
    "start_timeout_s": "Seconds a local server may take to answer initialize. Default 30.",
    "max_start_failures": "Failed starts in a row after which a local server is given up. Default 5.",
    "secrets_backend": "Where secrets go: 'auto' (system keyring, else an encrypted file), "
    "'keyring' or 'file'.",
    "oauth_private_urls": "'same-network' (default): a connector's OAuth metadata may point at "
    "loopback or private addresses only when the connector itself is there; 'allow' lifts this "
    "SSRF guard for local development.",
    "oauth_client_metadata_url": "The https URL of a Client ID Metadata Document describing tether, used as "
    "its OAuth client id where the authorization server supports that (and no client id was given); "
    "else tether registers itself. Default: none.",
    "require_signed_extensions": "true: install only bundles signed by a certificate tether trusts "
    "(the system's roots and trusted_signers); unsigned and self-signed ones are refused. Default false.",
    "trusted_signers": "A PEM file of extra root certificates whose signatures on bundles count as "
    "trusted. Default: none.",
    "chat_tool_search_threshold": "Above this many tools, the assistant's model gets two meta-tools "
    "(search tools, call a tool) instead of every tool. Default 40.",
    "chat_max_tool_calls": "Tool calls one assistant turn may make before tether stops it. Default 25.",
    "chat_model_timeout_s": "Seconds the assistant waits for one model request. Default 120.",
    "directory_registry_url": "Base URL of the MCP Registry the directory searches besides its curated "
    "catalog. Default https://registry.modelcontextprotocol.io; empty: curated catalog only.",
    "directory_cache_ttl_s": "Seconds registry results are reused before the registry is asked again. "
    "Default 3600.",
}

DEFAULT_REGISTRY_URL = "https://registry.modelcontextprotocol.io"
"""Read when settings are loaded (the tests point it at 127.0.0.1: they never reach the internet)."""


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path
    config_file: Path
    database_url: str = ""
    redis_url: str = ""
    relay_verdict_poll_s: float = 1.0
    host: str = "127.0.0.1"
    port: int = 8765
    approval_timeout_s: float = 300.0
    start_timeout_s: float = 30.0
    max_start_failures: int = 5
    secrets_backend: str = "auto"
    oauth_private_urls: str = "same-network"
    oauth_client_metadata_url: str = ""
    require_signed_extensions: bool = False
    trusted_signers: str = ""
    chat_tool_search_threshold: int = 40
    chat_max_tool_calls: int = 25
    chat_model_timeout_s: float = 120.0
    directory_registry_url: str = DEFAULT_REGISTRY_URL
    directory_cache_ttl_s: float = 3600.0

    @property
    def database_path(self) -> Path:
        return self.home / "tether.db"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    home = Path(env.get("TETHER_HOME") or platformdirs.user_data_dir("tether")).expanduser()
    config_file = Path(
        env.get("TETHER_CONFIG") or Path(platformdirs.user_config_dir("tether")) / "tether.toml"
    ).expanduser()
    settings = Settings(home=home, config_file=config_file, directory_registry_url=DEFAULT_REGISTRY_URL)
    values: dict[str, Any] = {}
    if config_file.is_file():
        try:
            values.update(tomllib.loads(config_file.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise UsageError(f"{config_file} is not valid TOML ({error}): fix or remove it") from None
    for name in SETTINGS:
        if (raw := env.get(f"TETHER_{name.upper()}")) is not None:
            values[name] = raw
    return _apply(settings, values, config_file)


def _apply(settings: Settings, values: dict[str, Any], origin: Path) -> Settings:
    types = {f.name: f.type for f in fields(Settings)}
    changes: dict[str, Any] = {}
    for name, raw in values.items():
        if name not in SETTINGS:
            raise UsageError(
                f"unknown setting '{name}' in {origin}: known settings are {', '.join(SETTINGS)}"
            )
        kind = types[name]
        try:
            if kind == "Path":
                changes[name] = Path(str(raw)).expanduser()
            elif kind == "int":
                changes[name] = int(raw)
            elif kind == "float":
                changes[name] = float(raw)
            elif kind == "bool":
                changes[name] = _boolean(raw)
            else:
                changes[name] = str(raw)
        except ValueError:
            raise UsageError(f"setting '{name}' must be a {kind}, got {raw!r}") from None
    return replace(settings, **changes)


def _boolean(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(text)
