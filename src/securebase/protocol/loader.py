"""Find and load trial protocols: built-in by name, or from a YAML file."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from securebase.errors import NotFound
from securebase.protocol.models import Protocol
from securebase.protocol.yamlio import load_model


def builtin_names() -> list[str]:
    folder = resources.files("securebase.protocol") / "builtin"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_protocol_file(path: str | Path) -> Protocol:
    """Load and validate a protocol YAML file; errors name the file, line and field."""
    return load_model(Protocol, path)


@lru_cache(maxsize=16)
def _builtin(name: str) -> Protocol:
    res = resources.files("securebase.protocol") / "builtin" / f"{name}.yaml"
    return load_model(Protocol, f"builtin/{name}.yaml", text=res.read_text(encoding="utf-8"))


def load_protocol(name_or_path: str | Path) -> Protocol:
    """A built-in protocol by name (``ng26-care``) or a protocol file by path."""
    text = str(name_or_path)
    if text in builtin_names():
        return _builtin(text)
    if Path(text).exists():
        return load_protocol_file(text)
    raise NotFound(f"protocol '{text}' is neither a built-in ({', '.join(builtin_names())}) nor an existing file; "
                   "give a built-in name or a path to a YAML file")


def protocol_from_yaml_text(text: str, label: str = "<protocol>") -> Protocol:
    return load_model(Protocol, label, text=text)
