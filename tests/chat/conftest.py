"""Fixtures for the assistant's tests: a data dir with the file secrets backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.config import Settings, load_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        {
            "TETHER_HOME": str(tmp_path / "home"),
            "TETHER_CONFIG": str(tmp_path / "tether.toml"),
            "TETHER_SECRETS_BACKEND": "file",
            "TETHER_START_TIMEOUT_S": "10",
            "TETHER_APPROVAL_TIMEOUT_S": "30",
        }
    )
