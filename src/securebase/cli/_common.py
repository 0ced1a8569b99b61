"""Helpers shared by the CLI modules: settings, store, console."""

from __future__ import annotations

from rich.console import Console

from securebase.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    return get_settings()
