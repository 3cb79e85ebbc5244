"""Settings: file, then ROUTER_* environment, then CLI overrides."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from router import config
from router.errors import ConfigError

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "router.toml"


def test_shipped_config_file_holds_exactly_the_defaults() -> None:
    """config/router.toml documents every setting with the value the code defaults to."""
    assert config.load(REPO_CONFIG, environ={}) == config.Settings()


def test_shipped_config_file_names_every_setting() -> None:
    """No setting is missing from config/router.toml."""
    values = config._read_toml(REPO_CONFIG)
    assert set(values) == set(config._FIELDS)


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        (
            "ROUTER_DATABASE_URL",
            "postgresql://x@127.0.0.1/db",
            "database_url",
            "postgresql://x@127.0.0.1/db",
        ),
        ("ROUTER_DATA_DIR", "/tmp/d", "data_dir", "/tmp/d"),
        ("ROUTER_HOST", "127.0.0.9", "host", "127.0.0.9"),
        ("ROUTER_PORT", "9090", "port", 9090),
        ("ROUTER_ADMIN_ACCOUNT_SID", "AC" + "1" * 32, "admin_account_sid", "AC" + "1" * 32),
        ("ROUTER_ADMIN_AUTH_TOKEN", "t" * 32, "admin_auth_token", "t" * 32),
        ("ROUTER_GATEWAY_TOKEN", "g" * 32, "gateway_token", "g" * 32),
        ("ROUTER_LOG_FORMAT", "json", "log_format", "json"),
        ("ROUTER_CACHE_TTL_SECONDS", "2.5", "cache_ttl_seconds", 2.5),
        ("ROUTER_CALLBACKS_DISPATCHER_ENABLED", "false", "callbacks_dispatcher_enabled", False),
        (
            "ROUTER_SECURITY_DENY_NETWORKS",
            "127.0.0.2/32, 10.0.0.0/8",
            "security_deny_networks",
            ("127.0.0.2/32", "10.0.0.0/8"),
        ),
    ],
)
def test_environment_overrides_the_file(
    variable: str, value: str, field: str, expected: object
) -> None:
    """Each fixed variable name of DESIGN.md section 6 (and the section pattern) is honoured."""
    settings = config.load(REPO_CONFIG, environ={variable: value})
    assert getattr(settings, field) == expected


def test_cli_overrides_beat_the_environment() -> None:
    """A CLI flag wins over ROUTER_PORT; a flag left unset (None) changes nothing."""
    settings = config.load(
        REPO_CONFIG, environ={"ROUTER_PORT": "9090"}, overrides={"port": 7070, "host": None}
    )
    assert settings.port == 7070
    assert settings.host == "127.0.0.1"


def test_router_config_variable_picks_the_file(tmp_path: Path) -> None:
    """ROUTER_CONFIG names another file."""
    other = tmp_path / "other.toml"
    other.write_text("port = 1234\n[cache]\nttl_seconds = 1.0\n")
    settings = config.load(environ={"ROUTER_CONFIG": str(other)})
    assert (settings.port, settings.cache_ttl_seconds) == (1234, 1.0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("port = 1\nbogus = 2\n", "Unknown settings"),
        ("port = [\n", "Cannot read"),
        ('port = "eighty"\n', "port"),
    ],
)
def test_malformed_files_give_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    """Unknown keys, bad TOML and wrong types fail at start with the setting named."""
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        config.load(path, environ={})


def test_missing_explicit_file_is_an_error() -> None:
    """A named configuration file that does not exist is refused."""
    with pytest.raises(ConfigError, match="does not exist"):
        config.load("/nonexistent/router.toml", environ={})


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_malformed_boolean_variable_is_refused(value: str) -> None:
    """A boolean setting accepts true/false/1/0/yes/no/on/off only."""
    with pytest.raises(ConfigError, match="callbacks_dispatcher_enabled"):
        config.load(REPO_CONFIG, environ={"ROUTER_CALLBACKS_DISPATCHER_ENABLED": value})


def test_serve_workers_defaults_to_the_cpus_this_process_may_use() -> None:
    """0 (the default) means one worker per CPU in the process's affinity mask."""
    assert config.effective_workers(config.Settings()) == len(os.sched_getaffinity(0))
    assert config.effective_workers(config.Settings(serve_workers=3)) == 3


def test_serve_workers_comes_from_its_variable_and_must_be_a_count() -> None:
    """ROUTER_SERVE_WORKERS per the ROUTER_<SECTION>_<KEY> rule; words and negatives are refused."""
    assert config.load(environ={"ROUTER_SERVE_WORKERS": "2"}).serve_workers == 2
    with pytest.raises(ConfigError, match="serve_workers has an invalid value 'two'"):
        config.load(environ={"ROUTER_SERVE_WORKERS": "two"})
    with pytest.raises(ConfigError, match="serve_workers must be 0"):
        config.effective_workers(config.load(environ={"ROUTER_SERVE_WORKERS": "-1"}))
