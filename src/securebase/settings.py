"""Typed settings, read from ``SECUREBASE_*`` environment variables (or a ``.env`` file).

Nothing is read at import time: call :func:`get_settings` (or build :class:`Settings` yourself).
Every field has help text; ``securebase settings`` lists them and a test fails when one is undocumented.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

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
        "",
        description="Secret used to sign web session cookies and CSRF tokens (at least 32 characters, never a "
        "published default). Empty: read from `secret_file`, which `securebase init` creates. The web app "
        "refuses to start without one.",
    )
    secret_file: Path = Field(
        Path("securebase.secret"),
        description="File holding the session secret when `secret_key` is empty; `securebase init` (or "
        "`securebase secret`) writes a random one there, readable by its owner only.",
    )
    cookie_secure: Literal["true", "false", "auto"] = Field(
        "true",
        description="Mark the session cookie Secure: `true` (always; browsers accept it on http://localhost "
        "too), `auto` (only when the request came over HTTPS, directly or as said by a trusted proxy's "
        "X-Forwarded-Proto), `false` (never; plain-HTTP test set-ups only).",
    )
    trusted_proxies: str = Field(
        "127.0.0.1,::1",
        description="Comma-separated addresses of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto "
        "headers are believed (the client address for log-in throttling, the scheme for Secure cookies and "
        "HSTS). Empty: believe no proxy; `*`: believe every peer (only when nothing else can reach the port).",
    )
    output_dir: Path = Field(Path("demo-output"), description="Where reports, plots and exports are written.")
    cache_dir: Path = Field(Path(".securebase-cache"), description="Cache of simulation results, keyed by a hash of the scenario.")
    dask_scheduler: str = Field(
        "",
        description="Address of an existing Dask scheduler (tcp://host:8786). Empty: start a local cluster.",
    )
    dask_workers: int = Field(2, description="Number of worker processes for the local Dask cluster.")
    price_year: str = Field("2023/24", description="Default price year that costs are inflated to.")
    login_max_failures: int = Field(5, description="Failed log-ins for one user name before each further attempt "
                                    "must wait (the wait doubles with every failure, up to `login_max_wait_seconds`). "
                                    "Accounts are never locked by failures and API tokens are not affected.")
    login_max_failures_per_address: int = Field(20, description="Failed log-ins from one client address (any user "
                                                "names) before further attempts from it must wait, doubling likewise.")
    login_max_wait_seconds: int = Field(900, description="Longest wait imposed by log-in throttling, in seconds.")
    totp_required: bool = Field(True, description="Require a TOTP second factor (authenticator app) at log-in for "
                                "every account holding a role that sees identifiers or allocations. Turn off only "
                                "for test set-ups.")
    token_days: int = Field(30, description="Days an API token stays valid when `securebase user token` is not "
                            "given --days.")
    max_request_bytes: int = Field(1_000_000, description="Largest request body accepted by the web app, in bytes "
                                   "(JSON bodies and forms; larger ones get HTTP 413).")
    session_hours: int = Field(8, description="Hours a web session stays valid (sessions are kept server-side and "
                               "also end at log-out, deactivation or an administrator's lock).")
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


#: Secrets that appear in published code or docs, refused wherever they are set.
KNOWN_SECRETS = frozenset({"change-me-in-production", "changeme", "change-me", "secret", "secret-key", "dev",
                           "development", "insecure", "test", "password"})
MIN_SECRET_LENGTH = 32
SECRET_HINT = ("run `securebase secret` (writes a random secret to SECUREBASE_SECRET_FILE, default securebase.secret) "
               "or set SECUREBASE_SECRET_KEY to the output of "
               "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`")


def session_secret(settings: Settings) -> str:
    """The secret that signs session cookies: ``secret_key``, else the contents of ``secret_file``.

    Raises ConfigurationError when there is none, when it is a published default, or when it is too short:
    the app never runs with a secret an attacker could know.
    """
    from securebase.errors import ConfigurationError

    value, where = settings.secret_key.strip(), "SECUREBASE_SECRET_KEY"
    if not value:
        path = Path(settings.secret_file)
        where = f"the secret file {path}"
        if not path.is_file():
            raise ConfigurationError(f"no session secret: SECUREBASE_SECRET_KEY is empty and {path} does not exist; "
                                     + SECRET_HINT)
        value = path.read_text(encoding="utf-8").strip()
    if value.lower() in KNOWN_SECRETS:
        raise ConfigurationError(f"the session secret in {where} is the published default {value!r}, so anyone "
                                 f"could forge a log-in; {SECRET_HINT}")
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigurationError(f"the session secret in {where} has {len(value)} characters, expected at least "
                                 f"{MIN_SECRET_LENGTH}; {SECRET_HINT}")
    return value


def write_secret_file(path: Path, *, overwrite: bool = False) -> bool:
    """Write a random 64-character secret to ``path`` (owner read/write only); False if it already exists."""
    path = Path(path)
    if path.exists() and not overwrite:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_urlsafe(48) + "\n")
    os.chmod(path, 0o600)
    return True


def get_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides taking precedence."""
    return Settings(**overrides)  # type: ignore[arg-type]
