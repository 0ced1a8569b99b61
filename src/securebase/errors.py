"""The securebase error tree.

Every error a person can see derives from :class:`SecurebaseError` and carries a message that says
what was wrong, the value received, what was expected and what to do. The edges (CLI, web, API)
translate these into exit codes and HTTP statuses; nothing else catches them.

::

    SecurebaseError                      exit 1, HTTP 400
    ├── InputError                       bad input from a person or a file (HTTP 422)
    │   ├── ProtocolError                a protocol/plan file: names file, line and field
    │   ├── ResponseError                an instrument response: names instrument, item, value
    │   └── DataError                    a dataset unfit for analysis (constant covariate, ...)
    ├── NotFound                         HTTP 404
    ├── PermissionDenied                 role or site may not do this (HTTP 403)
    │   └── BlindingError                the action would reveal an allocation to a blinded role
    ├── ConflictError                    state forbids it (HTTP 409)
    │   ├── TrialLocked                  the trial's database is locked
    │   ├── NotEligible                  randomisation refused: eligibility/consent/strata
    │   └── ReasonRequired               changing saved data needs a reason for change
    ├── AuditChainBroken                 audit verification failed at a named record
    └── ConfigurationError               settings, missing server, missing tool
"""

from __future__ import annotations

from typing import Any


class SecurebaseError(Exception):
    """Base of every error shown to a user; ``str(err)`` is the whole message."""

    http_status = 400
    exit_code = 1

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def to_dict(self) -> dict[str, Any]:
        """The one JSON error shape used by the API."""
        return {"error": type(self).__name__, "message": self.message, "status": self.http_status}


class InputError(SecurebaseError):
    http_status = 422
    exit_code = 2


def describe(field: str, value: Any, expected: str, hint: str = "") -> str:
    """Build the standard message: field, value received, what was expected, what to do."""
    got = "nothing was entered" if value is None or (isinstance(value, str) and not value.strip()) else f"got {value!r}"
    msg = f"{field} must be {expected} ({got})"
    if hint:
        msg += f"; {hint}"
    return msg


class FieldError(InputError):
    """A single field with a bad value."""

    def __init__(self, field: str, value: Any, expected: str, hint: str = "") -> None:
        super().__init__(describe(field, value, expected, hint), field=field, value=value)
        self.field = field
        self.value = value
        self.expected = expected


class ProtocolError(InputError):
    """A problem in a protocol, analysis plan or instrument file, located by file, line and field."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        where = []
        if file:
            where.append(str(file))
        if line is not None:
            where.append(f"line {line}")
        if field:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message, file=file, line=line, field=field)
        self.file = file
        self.line = line
        self.field = field


class ResponseError(InputError):
    """An instrument response that fails its item definition."""


class DataError(InputError):
    """A dataset that an analysis cannot use as given."""


class NotFound(SecurebaseError):
    http_status = 404
    exit_code = 3


class PermissionDenied(SecurebaseError):
    http_status = 403
    exit_code = 4


class BlindingError(PermissionDenied):
    """Raised instead of revealing an allocation. Its message never contains the allocation."""


class ConflictError(SecurebaseError):
    http_status = 409
    exit_code = 5


class TrialLocked(ConflictError):
    pass


class NotEligible(ConflictError):
    pass


class ReasonRequired(ConflictError):
    pass


class AuditChainBroken(SecurebaseError):
    exit_code = 6

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message, seq=seq)
        self.seq = seq


class ConfigurationError(SecurebaseError):
    exit_code = 7
