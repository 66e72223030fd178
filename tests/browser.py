"""Open an HTML file in headless Chromium (installed by `make setup`) and return the rendered DOM."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("headless Chromium is missing: run `make setup` (it installs the Debian package)")


def rendered_dom(html: Path | str, profile: Path) -> str:
    """The DOM after scripts ran, as Chromium sees it with the network closed."""
    out = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom", Path(html).resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.stdout


def screenshot(html: Path, png: Path, profile: Path) -> Path:
    subprocess.run(
        [
            chromium(),
            *FLAGS,
            f"--user-data-dir={profile}",
            "--window-size=1280,2000",
            f"--screenshot={png}",
            html.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    return png
