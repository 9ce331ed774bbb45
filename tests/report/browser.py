"""Headless Chromium for the report and site tests: the command line, and a page's DOM after its scripts ran."""

import shutil
import subprocess
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "headless Chromium is needed: apt-get install chromium (make test and .ci/run install it)"
    return found


def dump_dom(page: Path, budget_ms: int = 5000) -> str:
    """The DOM of ``page`` (opened from file://) once its scripts and the virtual time budget have run."""
    return subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--virtual-time-budget={budget_ms}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
