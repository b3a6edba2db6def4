"""The briefing every test of this folder may read: the fixture archive's, on its topic."""
from __future__ import annotations

import pytest

from rag.briefing.build import build_briefing
from rag.config import Settings
from tests.briefing.archive import TOPIC, search


@pytest.fixture(scope="session")
def briefing():
    return build_briefing(TOPIC, search, Settings())
