"""The installed version of router (from the package metadata, set in pyproject.toml)."""

from __future__ import annotations

from importlib import metadata


def version() -> str:
    try:
        return metadata.version("router")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare source tree
        return "0+unknown"
