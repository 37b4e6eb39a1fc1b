"""Shared by the tests of the dlc Python package."""
import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test compiles into a compile cache of its own (tests that check
    cache hits find it at tmp_path / "cache")."""
    monkeypatch.setenv("DLC_CACHE_DIR", str(tmp_path / "cache"))
