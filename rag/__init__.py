"""Retrieval, answering and index ownership for the Arabic archive assistant."""
