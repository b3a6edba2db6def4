"""The composition root: every caller gets the same wiring from Settings alone."""
import pytest

from rag.errors import IndexMismatchError, NoIndexError
from rag.services import make_assistant, open_archive, open_index
from rag.types import Filters
from tests.fakes import FakeEmbedder
from tests.ingest.test_pipeline import ingest, make_archive


def test_an_empty_data_dir_is_refused_with_the_command_that_fills_it(settings):
    with pytest.raises(NoIndexError, match="rag ingest"):
        open_archive(settings, embedder=FakeEmbedder())
    assert open_archive(settings, embedder=FakeEmbedder(), require=False).store.stats()["documents"] == 0


def test_an_index_built_with_another_model_is_refused_on_open(settings, tmp_path):
    ingest(settings, [make_archive(tmp_path / "arch", 2)])
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        open_index(settings, embedder=FakeEmbedder(model_id="another-model"))


def test_the_assistant_answers_over_the_archive_it_was_given(settings, tmp_path):
    ingest(settings, [make_archive(tmp_path / "arch", 4)])
    archive = open_archive(settings, embedder=FakeEmbedder())
    answer = make_assistant(settings, archive).ask("ما موضوع الدراسة عن تمويل الجماعات المتطرفة؟")
    assert not answer.refused and answer.citations[0].title == "دراسة عن تمويل الجماعات المتطرفة"
    lexical = make_assistant(settings, archive, retrieval="lexical")
    hits = lexical.search("تمويل الجماعات المتطرفة", Filters(), 3)
    assert hits and all(h.dense_rank is None for h in hits)  # the eval's retrieval mode reaches search
