"""The app's /search route: the `rag search --json` shape through gradio_client (slow: a launched app)."""
import pytest

from tests.ingest.test_pipeline import make_archive
from tests.ui.test_app import running_app

pytestmark = pytest.mark.slow


def test_search_route_returns_the_cli_shape_in_each_retrieval_mode(settings, tmp_path):
    from gradio_client import Client

    with running_app(settings, make_archive(tmp_path / "arch")) as (url, _):
        c = Client(url, verbose=False)
        for mode in ("hybrid", "dense", "lexical"):
            out = c.predict("أمن الحدود", 3, mode, api_name="/search")
            assert out["query"] == "أمن الحدود" and 1 <= len(out["results"]) <= 3, mode
            assert "أمن الحدود" in out["results"][0]["title"]
            assert {"rank", "score", "chunk_id", "doc_id", "title", "text", "cluster_id", "also_in"} <= set(
                out["results"][0])
        with pytest.raises(Exception, match="retrieval must be"):  # noqa: B017 -- gradio_client's AppError
            c.predict("أمن", 3, "fuzzy", api_name="/search")
        with pytest.raises(Exception, match="2018-07-01"):  # noqa: B017
            c.predict("أمن", 3, "hybrid", "أمس", api_name="/search")
