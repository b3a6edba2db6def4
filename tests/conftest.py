import pytest

from rag.config import load_settings
from tests.fakes import FakeEmbedder


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def settings(tmp_path):
    """Settings isolated in a temp data dir, ignoring the developer's environment."""
    return load_settings(env={}, data_dir=tmp_path / "data", model_dir=tmp_path / "models")
