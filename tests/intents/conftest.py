"""Shared fixtures: the shop domain trained once per test session, in a temporary cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents import load_understander
from intents.domain import Domain, load_domain
from intents.understander import DomainUnderstander


@pytest.fixture(scope="session")
def shop_domain() -> Domain:
    return load_domain()


@pytest.fixture(scope="session")
def shop_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("carebot-cache")


@pytest.fixture(scope="session")
def shop(shop_cache: Path) -> DomainUnderstander:
    understander = load_understander(cache_dir=shop_cache)
    assert isinstance(understander, DomainUnderstander)
    return understander
