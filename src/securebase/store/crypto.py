"""Encryption at rest of direct identifiers (Fernet: AES-128-CBC + HMAC-SHA256)."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from securebase.errors import ConfigurationError


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _fernet(key: str) -> Fernet:
    if not key:
        raise ConfigurationError(
            "SECUREBASE_ENCRYPTION_KEY is not set, so direct identifiers cannot be stored; "
            "create a key with `securebase keygen` and set it in the environment")
    try:
        return Fernet(key.encode("ascii"))
    except (ValueError, TypeError):
        raise ConfigurationError(
            "SECUREBASE_ENCRYPTION_KEY must be a Fernet key (44 characters of urlsafe base64); "
            "create one with `securebase keygen`") from None


def encrypt_identifiers(key: str, data: dict[str, Any]) -> bytes:
    return _fernet(key).encrypt(json.dumps(data, sort_keys=True, default=str).encode("utf-8"))


def decrypt_identifiers(key: str, token: bytes) -> dict[str, Any]:
    try:
        return json.loads(_fernet(key).decrypt(token))
    except InvalidToken:
        raise ConfigurationError("the identifiers cannot be decrypted with this SECUREBASE_ENCRYPTION_KEY; "
                                 "use the key the trial was set up with") from None
