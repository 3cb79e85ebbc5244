"""The `router` command's arguments, help and warnings, as a newcomer meets them."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest

from tests.cli.router_process import run, workdir

__all__ = ["workdir"]


def test_version_flag_prints_the_installed_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"router {metadata.version('router')}"


def test_serve_help_documents_every_option_and_the_variables() -> None:
    result = run("serve", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for option in ("--config", "--database-url", "--data-dir", "--host", "--port"):
        assert option in text
    assert "default: 127.0.0.1; ROUTER_HOST" in text
    assert "default: 8080; ROUTER_PORT" in text
    assert "default: ROUTER_DATA_DIR, else ./.router" in text
    assert "ROUTER_S_K" in text
    assert text.count("(default:") >= 5  # every option but --help says its default


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--config", "{missing}"],
        ["--config", "{missing}", "serve"],
        ["inventory", "import", "--config", "{missing}", "some.csv"],
        ["inventory", "--config", "{missing}", "import", "some.csv"],
        ["backup", "--config", "{missing}", "out.dump"],
    ],
)
def test_common_flags_are_accepted_before_and_after_the_subcommand(
    argv: list[str], workdir: Path
) -> None:
    """The flag is read wherever it stands: the named file is the one reported missing."""
    missing = str(workdir / "nowhere.toml")
    result = run(*[arg.replace("{missing}", missing) for arg in argv], cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.strip() == f"router: Configuration file {missing} does not exist."


def test_config_file_after_serve_is_read(workdir: Path) -> None:
    """`router serve --config F` uses F: an unknown key in it is reported."""
    config_file = workdir / "mine.toml"
    config_file.write_text('colour = "blue"\n')
    result = run("serve", "--config", str(config_file), cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.strip() == f"router: Unknown settings in {config_file}: colour."


def test_data_dir_after_inventory_import_is_accepted(workdir: Path) -> None:
    result = run("inventory", "import", "--data-dir", str(workdir / "d"), "absent.csv", cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.strip() == "router: no such file: absent.csv"
    assert not (workdir / "d").exists()  # nothing was created for a file that is not there


def test_unknown_option_names_the_subcommand_and_its_usage() -> None:
    result = run("serve", "--prot", "8081")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: router serve ")
    assert "router serve: error: unrecognized arguments: --prot 8081" in result.stderr


def test_missing_subcommand_is_an_error() -> None:
    result = run()
    assert result.returncode == 2
    assert "the following arguments are required: COMMAND" in result.stderr


def test_unknown_router_variables_are_warned_about_one_line_each(workdir: Path) -> None:
    result = run(
        "admin",
        "reset-token",
        "--data-dir",
        str(workdir / "none"),
        ROUTER_PROT="8081",
        ROUTER_LOGLEVEL="debug",
        ROUTER_PORT="1",
    )
    assert result.returncode == 2
    warnings = [json.loads(line) for line in result.stdout.splitlines() if "unknown_var" in line]
    assert [w["variable"] for w in warnings] == ["ROUTER_LOGLEVEL", "ROUTER_PROT"]
    assert all(w["level"] == "warning" for w in warnings)


def test_paths_are_logged_absolute(workdir: Path) -> None:
    """A relative data directory and the working directory's config file are logged
    as the absolute paths they resolve to."""
    (workdir / "config").mkdir()
    (workdir / "config" / "router.toml").write_text("port = 0\n")  # port 0 is refused below
    result = run("serve", "--data-dir", "rel/data", "--port", "not-a-port", cwd=workdir)
    assert result.returncode == 2, result.stderr
    assert "invalid int value: 'not-a-port'" in result.stderr
    result = run("admin", "reset-token", "--data-dir", "rel/data", cwd=workdir)
    assert result.returncode == 2
    [resolved] = [json.loads(line) for line in result.stdout.splitlines() if "settings_res" in line]
    assert resolved["data_dir"] == str(workdir / "rel" / "data")
    assert resolved["config_file"] == str(workdir / "config" / "router.toml")
    assert resolved["database"] == "embedded"
    assert result.stderr.strip().startswith(f"router: There is no database in {workdir}/rel/data")
