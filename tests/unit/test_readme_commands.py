"""The README's two commands are what CI runs, verbatim (so CI proves them)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_command(heading: str) -> str:
    """The one-line sh block after the README's bold ``heading``."""
    text = (ROOT / "README.md").read_text()
    after = text[text.index(f"**{heading}**") :]
    match = re.search(r"```sh\n(.+?)\n```", after, re.DOTALL)
    assert match is not None
    return match.group(1)


def ci_lines() -> list[str]:
    return [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]


def test_both_commands_use_a_virtual_environment() -> None:
    for heading in ("Run the service", "Run the tests"):
        command = readme_command(heading)
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install -e ")
        assert "python3 -m pip" not in command  # refused by an externally managed python3


def test_ci_runs_the_test_command_install_then_tests() -> None:
    """.ci/run runs the README's install (quietly) and then its test part, as written."""
    venv, install, test = readme_command("Run the tests").split(" && ")
    lines = ci_lines()
    quiet_install = install.replace("pip install ", "pip install -q ")
    assert f"{venv} && {quiet_install}" in lines
    assert test in lines
    assert lines.index(test) > lines.index(f"{venv} && {quiet_install}")
    # The quality gates run from the same environment, between the two.
    gates = [line for line in lines if line.startswith(".venv/bin/") and "pytest" not in line]
    assert {g.split()[0] for g in gates} == {
        ".venv/bin/ruff",
        ".venv/bin/mypy",
        ".venv/bin/lint-imports",
    }


def test_ci_installs_what_a_stock_debian_lacks() -> None:
    text = (ROOT / ".ci" / "run").read_text()
    assert "python3-venv" in text
    assert "postgresql" in text
