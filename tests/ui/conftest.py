"""Shared by the browser tests: Debian's Chromium, driven through playwright."""
import pytest

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def browser():
    """Debian's headless Chromium through playwright (no browser download)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            yield b
        finally:
            b.close()
