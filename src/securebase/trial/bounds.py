"""Limits on free-form JSON that reaches the store: depth, size, characters.

One walk over a value checks everything at once and names the first offending field by its path
(``details.a.b[3]``): nesting deeper than ``max_depth``, more than ``max_items`` entries in total, a string
longer than ``max_string``, a NUL character or a lone UTF-16 surrogate (neither can be stored as UTF-8 text,
and a NUL truncates values in some tools), a non-finite number, or a serialised size over ``max_bytes``.
Checked before anything is written, so a value that could not be read back is never committed.
"""

from __future__ import annotations

import json
import math
from typing import Any

from securebase.errors import FieldError


def bad_text(s: str) -> str:
    """Why a string cannot be stored ("" when it can)."""
    if "\x00" in s:
        return "text without NUL characters"
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return "text without lone surrogate characters (\\ud800-\\udfff)"
    return ""


def check_json(value: Any, field: str, *, max_depth: int = 8, max_items: int = 2000, max_string: int = 20_000,
               max_bytes: int = 200_000) -> None:
    """Raise FieldError naming the path of the first part of ``value`` over a limit."""
    items = 0
    stack: list[tuple[Any, str, int]] = [(value, field, 0)]
    while stack:
        v, path, depth = stack.pop()
        if depth > max_depth:
            raise FieldError(path, "<nested value>", f"nested at most {max_depth} levels deep",
                             "flatten the structure")
        if isinstance(v, str):
            why = bad_text(v)
            if why:
                raise FieldError(path, v[:40], why, "remove the character")
            if len(v) > max_string:
                raise FieldError(path, f"<{len(v)} characters>", f"at most {max_string} characters")
        elif isinstance(v, float) and not math.isfinite(v):
            raise FieldError(path, v, "a finite number")
        elif isinstance(v, dict):
            items += len(v)
            for k, sub in v.items():
                key = str(k)
                why = bad_text(key)
                if why or len(key) > 200:
                    raise FieldError(f"{path} (a key)", key[:40], why or "a key of at most 200 characters")
                stack.append((sub, f"{path}.{key}", depth + 1))
        elif isinstance(v, (list, tuple)):
            items += len(v)
            for i, sub in enumerate(v):
                stack.append((sub, f"{path}[{i}]", depth + 1))
        if items > max_items:
            raise FieldError(path, f"<{items}+ entries>", f"at most {max_items} entries in all")
    size = len(json.dumps(value, default=str, ensure_ascii=False).encode("utf-8"))
    if size > max_bytes:
        raise FieldError(field, f"<{size} bytes>", f"at most {max_bytes} bytes of JSON", "store less detail")
