"""``securebase settings``: list every setting with its help text and current value."""

from __future__ import annotations

import typer
from rich.table import Table

from securebase.cli._common import console
from securebase.settings import Settings, get_settings

SECRET_FIELDS = {"encryption_key", "secret_key"}


def settings_command() -> None:
    """List every setting: environment variable, current value and what it does."""
    current = get_settings()
    table = Table(title="securebase settings (environment variables SECUREBASE_*)")
    table.add_column("variable")
    table.add_column("value")
    table.add_column("what it does")
    for name, field in Settings.model_fields.items():
        value = getattr(current, name)
        shown = "(set)" if name in SECRET_FIELDS and value else str(value)
        table.add_row(f"SECUREBASE_{name.upper()}", shown, field.description or "")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("settings")(settings_command)
