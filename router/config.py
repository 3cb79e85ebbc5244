"""Settings: read once at the edge from a TOML file, ROUTER_* variables and CLI flags.

The TOML file has top-level keys (host, port, database_url, ...) and sections
([cache], [rcml], ...). A key `k` in section `s` is the field `s_k` and the variable
`ROUTER_S_K`; a top-level key `k` is the field `k` and the variable `ROUTER_K`.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from router.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config/router.toml")


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of router serve, with its default."""

    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = ""
    data_dir: str = "./.router"
    admin_account_sid: str = ""
    admin_auth_token: str = ""
    gateway_token: str = ""
    log_format: str = ""  # empty: console on a terminal, json otherwise
    log_level: str = "info"
    log_access: bool = False  # one line per HTTP request; off: it costs throughput
    database_pool_min: int = 2
    database_pool_max: int = 10
    api_max_body_bytes: int = 65536
    api_default_page_size: int = 50
    api_max_page_size: int = 1000
    phone_default_region: str = "US"
    auth_max_failures_per_address: int = 30  # 0: no limit per client address
    auth_max_failures_per_account: int = 10  # 0: no limit per account
    auth_failure_window_seconds: float = 60.0
    auth_trusted_proxies: tuple[str, ...] = ()  # proxies whose X-Forwarded-For is believed
    cache_ttl_seconds: float = 30.0
    cache_max_size: int = 1_000_000
    patterns_match_timeout_seconds: float = 0.05
    patterns_regex_budget_seconds: float = 0.1  # per organization and window, per process
    patterns_regex_budget_window_seconds: float = 1.0
    rcml_connect_timeout: float = 5.0
    rcml_total_timeout: float = 10.0
    rcml_max_redirects: int = 5
    rcml_max_body_bytes: int = 1_048_576
    security_deny_networks: tuple[str, ...] = (
        "169.254.0.0/16",
        "fe80::/10",
        "100.100.100.200/32",
        "fd00:ec2::254/128",
    )
    callbacks_dispatcher_enabled: bool = True
    callbacks_max_attempts: int = 8
    callbacks_timeout_seconds: float = 10.0
    callbacks_base_delay_seconds: float = 30.0
    callbacks_max_delay_seconds: float = 1800.0
    callbacks_poll_interval_seconds: float = 1.0
    callbacks_lease_seconds: float = 60.0
    callbacks_concurrency: int = 64
    callbacks_per_host_limit: int = 32
    spool_max_bytes: int = 64 * 1024 * 1024
    spool_replay_interval_seconds: float = 1.0
    spool_unmatched_status_seconds: float = 600.0
    serve_workers: int = 0  # 0: one per CPU this process may use
    serve_stop_timeout_seconds: float = 30.0


_FIELDS = {f.name: f for f in fields(Settings)}


def load(
    config_path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings from the file, then ROUTER_* variables, then explicit overrides (CLI)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = locate(config_path, env)
    if path is not None:
        values.update(_read_toml(path))
    values.update(_read_environ(env))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return Settings(**{name: _coerce(name, value) for name, value in values.items()})


def locate(explicit: str | Path | None, env: Mapping[str, str] | None = None) -> Path | None:
    """The settings file in use, as an absolute path: the given one, ROUTER_CONFIG, or
    config/router.toml when the working directory has one; None when there is none."""
    env = os.environ if env is None else env
    chosen = explicit or env.get("ROUTER_CONFIG")
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise ConfigError(f"Configuration file {path} does not exist.")
        return path.resolve()
    return DEFAULT_CONFIG_PATH.resolve() if DEFAULT_CONFIG_PATH.is_file() else None


# ROUTER_* variables that name no setting field but are read all the same.
_OTHER_VARIABLES = frozenset({"ROUTER_CONFIG"})


def unknown_variables(env: Mapping[str, str] | None = None) -> list[str]:
    """ROUTER_* variables that no setting reads (a typo would otherwise pass unnoticed)."""
    env = os.environ if env is None else env
    known = {f"ROUTER_{name.upper()}" for name in _FIELDS} | _OTHER_VARIABLES
    return sorted(name for name in env if name.startswith("ROUTER_") and name not in known)


def variable_name(field_name: str) -> str:
    """The environment variable of a setting: data_dir -> ROUTER_DATA_DIR."""
    return f"ROUTER_{field_name.upper()}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"Cannot read configuration file {path}: {error}") from error
    values: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            values.update({f"{key}_{inner}": v for inner, v in value.items()})
        else:
            values[key] = value
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"Unknown settings in {path}: {', '.join(unknown)}.")
    return values


def _read_environ(env: Mapping[str, str]) -> dict[str, str]:
    return {name: env[variable_name(name)] for name in _FIELDS if variable_name(name) in env}


def _coerce(name: str, value: Any) -> Any:
    kind = _FIELDS[name].type
    try:
        if kind == "bool":
            return _to_bool(value)
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind.startswith("tuple"):
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(item).strip() for item in items if str(item).strip())
        return str(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"Setting {name} has an invalid value {value!r}: {error}") from error


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


def effective_log_format(settings: Settings) -> str:
    """console on a terminal, json otherwise, unless the setting says."""
    if settings.log_format in {"console", "json"}:
        return settings.log_format
    return "console" if sys.stderr.isatty() else "json"


def effective_workers(settings: Settings) -> int:
    """The worker processes to run: the setting, or one per CPU this process may use."""
    if settings.serve_workers < 0:
        raise ConfigError(
            f"Setting serve_workers must be 0 (one per CPU) or more, not {settings.serve_workers}."
        )
    return settings.serve_workers or len(os.sched_getaffinity(0))


def replace(settings: Settings, **changes: Any) -> Settings:
    """A copy with some settings changed (tests and the CLI use it)."""
    return dataclasses.replace(settings, **changes)
