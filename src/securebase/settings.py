"""Typed settings, read from ``SECUREBASE_*`` environment variables (or a ``.env`` file).

Nothing is read at import time: call :func:`get_settings` (or build :class:`Settings` yourself).
Every field has help text; ``securebase settings`` lists them and a test fails when one is undocumented.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SECUREBASE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite:///securebase.db",
        description="SQLAlchemy URL of the store. SQLite file by default; "
        "postgresql+psycopg://user@host/db for a multi-site server.",
    )
    encryption_key: str = Field(
        "",
        description="Fernet key (urlsafe base64, 32 bytes) used to encrypt direct identifiers at rest. "
        "Generate one with `securebase keygen`. Required before any identifier is stored.",
    )
    secret_key: str = Field(
        "change-me-in-production",
        description="Secret used to sign web session cookies and CSRF tokens.",
    )
    output_dir: Path = Field(Path("demo-output"), description="Where reports, plots and exports are written.")
    cache_dir: Path = Field(Path(".securebase-cache"), description="Cache of simulation results, keyed by a hash of the scenario.")
    dask_scheduler: str = Field(
        "",
        description="Address of an existing Dask scheduler (tcp://host:8786). Empty: start a local cluster.",
    )
    dask_workers: int = Field(2, description="Number of worker processes for the local Dask cluster.")
    price_year: str = Field("2023/24", description="Default price year that costs are inflated to.")
    login_max_failures: int = Field(5, description="Failed log-ins before an account is locked.")
    session_hours: int = Field(8, description="Hours a web session stays valid.")
    host: str = Field("127.0.0.1", description="Address `securebase serve` listens on.")
    port: int = Field(8000, description="Port `securebase serve` listens on.")
    progress: bool = Field(True, description="Show progress bars on long work (turned off when not a terminal).")
    smtp_host: str = Field("", description="SMTP server that e-mail notifications go through (safeguarding alerts, "
                           "data queries, questionnaire invitations). Empty: write them to `mail_outbox` instead.")
    smtp_port: int = Field(25, description="Port of the SMTP server.")
    smtp_starttls: bool = Field(False, description="Use STARTTLS with the SMTP server.")
    smtp_username: str = Field("", description="User name for the SMTP server (empty: no log-in).")
    smtp_password: str = Field("", description="Password for the SMTP server.")
    mail_from: str = Field("securebase@localhost", description="Sender address of e-mail notifications.")
    mail_outbox: Path = Field(Path("outbox/mail"), description="Folder that e-mail is written to when no SMTP "
                              "server is set (one .eml file per message).")
    sms_outbox: Path = Field(Path("outbox/sms"), description="Folder the built-in SMS gateway writes messages to "
                             "(one JSON file per message), for a site's own SMS relay or the demo.")
    audit_key_file: Path | None = Field(None, description="File holding the audit chain's HMAC-SHA256 key (64 hex "
                                        "digits), kept outside the database; `securebase init` creates it when "
                                        "missing. Empty: `<database file>.audit-key` next to a SQLite store, "
                                        "`securebase-audit-<database>.key` in the current folder for PostgreSQL. "
                                        "Back it up apart from the database: without it the chain cannot be verified.")
    audit_head_file: Path | None = Field(None, description="Append-only file that every commit adds the audit "
                                         "chain's head to (sequence and keyed hash), so a cut tail is detected; put "
                                         "it where database users cannot rewrite it. Empty: next to the key file "
                                         "(`.audit-heads` / `.heads`).")


def get_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides taking precedence."""
    return Settings(**overrides)  # type: ignore[arg-type]
