"""PDF from the same HTML, printed by headless Chromium (Debian's /usr/bin/chromium)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from securebase.errors import ConfigurationError

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer"]


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise ConfigurationError("Chromium is needed to print the PDF report but was not found; install it with "
                             "`apt-get install -y chromium` (or run `make demo`, which does), or pass --no-pdf")


def html_to_pdf(html: Path, pdf: Path, *, timeout: float = 120) -> Path:
    """Print ``html`` to ``pdf`` with Chromium; raise a clear error if it fails."""
    exe = find_chromium()
    pdf.unlink(missing_ok=True)
    import tempfile

    with tempfile.TemporaryDirectory() as profile:
        cmd = [exe, *CHROMIUM_ARGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf.resolve()}",
               html.resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ConfigurationError(f"Chromium did not finish printing {html} within {timeout:.0f} s") from None
    if not pdf.exists() or pdf.stat().st_size == 0:
        raise ConfigurationError(f"Chromium could not print {html} to PDF (exit {proc.returncode}): "
                                 f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'no message'}")
    return pdf
