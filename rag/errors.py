"""Typed errors whose messages name the fix; translated to a clean message at the edge (ui.cli)."""


class RagError(Exception):
    """Base class: str(error) is a complete, user-facing message."""


class ConfigError(RagError):
    pass


class IndexMismatchError(RagError):
    pass


class NoIndexError(RagError):
    """The data dir holds no index yet (the message names the ingest command)."""


class ModelUnavailableError(RagError):
    pass


class EmbeddingServerError(ModelUnavailableError):
    """The embedding server (RAG_EMBEDDING_URL) is down, refused a request or answered nonsense;
    the message names its URL."""

    def __init__(self, url: str, message: str):
        self.url = url
        super().__init__(message)


class BadDocumentError(RagError):
    """A file or record that cannot be ingested; the pipeline reports it and moves on."""

    def __init__(self, path: str, reason: str, line: int | None = None):
        self.path, self.reason, self.line = path, reason, line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason}")


class StoreUnavailableError(RagError):
    pass


class LLMError(RagError):
    pass


class MissingExtraError(RagError):
    def __init__(self, what: str, extra: str):
        super().__init__(f"{what} needs the optional '{extra}' extra: pip install -e '.[{extra}]'")
