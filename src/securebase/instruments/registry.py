"""Find instrument definitions: the built-ins shipped in ``builtin/`` and YAML files a trial team adds.

``load_instrument(name, version=None)`` returns the highest version unless one is asked for;
``register_instrument`` / ``load_instrument_file`` add user definitions (they win over a built-in of
the same name and version).
"""

from __future__ import annotations

import csv
import threading
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from securebase.errors import NotFound, ProtocolError
from securebase.instruments.model import Instrument

_USER: dict[tuple[str, str], Instrument] = {}
_BUILTIN_CACHE: dict[tuple[str, str], Instrument] = {}
_BUILTIN_LOCK = threading.Lock()


def parse_instrument(text: str, origin: str = "<text>") -> Instrument:
    """Parse one instrument from YAML text; errors name the file, line (when known) and field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ProtocolError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=origin,
                            line=(mark.line + 1) if mark is not None else None) from exc
    if not isinstance(data, dict):
        raise ProtocolError("an instrument file must hold a mapping with name, version, items ...",
                            file=origin)
    try:
        return Instrument.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ProtocolError(f"{first['msg']} (got {first.get('input')!r}); fix the definition and reload",
                            file=origin, field=field or None) from exc


def load_instrument_file(path: str | Path, *, register: bool = True) -> Instrument:
    """Read an instrument YAML file, and register it so load_instrument finds it by name."""
    p = Path(path)
    if not p.exists():
        raise NotFound(f"instrument file {str(p)!r} does not exist; give the path of a .yaml file")
    inst = parse_instrument(p.read_text(encoding="utf-8"), str(p))
    if register:
        register_instrument(inst)
    return inst


def register_instrument(instrument: Instrument) -> None:
    """Make a user-defined instrument available to load_instrument and list_instruments."""
    _USER[(instrument.name, instrument.version)] = instrument


def unregister_instrument(name: str, version: str | None = None) -> None:
    for key in [k for k in _USER if k[0] == name and (version is None or k[1] == version)]:
        del _USER[key]


def _builtins() -> dict[tuple[str, str], Instrument]:
    # web servers call this from several threads at once: build the whole cache under a lock, then publish it
    if not _BUILTIN_CACHE:
        with _BUILTIN_LOCK:
            if not _BUILTIN_CACHE:
                loaded = {}
                folder = resources.files("securebase.instruments") / "builtin"
                for entry in sorted(folder.iterdir(), key=lambda p: p.name):
                    if entry.name.endswith(".yaml"):
                        inst = parse_instrument(entry.read_text(encoding="utf-8"), f"builtin/{entry.name}")
                        loaded[(inst.name, inst.version)] = inst
                _BUILTIN_CACHE.update(loaded)
    return _BUILTIN_CACHE


def _all() -> dict[tuple[str, str], Instrument]:
    merged = dict(_builtins())
    merged.update(_USER)
    return merged


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    parts: list[tuple[int, int | str]] = []
    for part in version.replace("-", ".").split("."):
        parts.append((0, int(part)) if part.isdigit() else (1, part))
    return tuple(parts)


def load_instrument(name: str, version: str | None = None) -> Instrument:
    """The instrument called ``name`` (its highest version unless ``version`` is given)."""
    found = [inst for (n, _v), inst in _all().items() if n == name]
    if not found:
        raise NotFound(f"no instrument named {name!r}; available: {', '.join(sorted({n for n, _ in _all()}))}")
    if version is None:
        return max(found, key=lambda i: _version_key(i.version))
    for inst in found:
        if inst.version == version:
            return inst
    raise NotFound(f"instrument {name!r} has no version {version!r}; available versions: "
                   f"{', '.join(sorted(i.version for i in found))}")


def list_instruments() -> list[Instrument]:
    """Every known instrument (built-in and registered), sorted by name then version."""
    return sorted(_all().values(), key=lambda i: (i.name, _version_key(i.version)))


def load_wording(path: str | Path) -> dict[str, dict[str, str]]:
    """Item wording a trial team holds under licence: ``{instrument name: {item code: text}}``.

    Accepts YAML of that shape or a CSV with columns ``instrument,item,wording``. Attach it with
    ``Instrument.with_wording(wording[name])``; the platform never ships it.
    """
    p = Path(path)
    if not p.exists():
        raise NotFound(f"wording file {str(p)!r} does not exist; give a .yaml or .csv file")
    out: dict[str, dict[str, str]] = {}
    if p.suffix.lower() == ".csv":
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not {"instrument", "item", "wording"} <= set(reader.fieldnames or ()):
                raise ProtocolError("a wording CSV needs columns instrument,item,wording", file=str(p), line=1)
            for row in reader:
                out.setdefault(row["instrument"].strip(), {})[row["item"].strip()] = row["wording"]
        return out
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProtocolError(f"not valid YAML: {exc}", file=str(p)) from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ProtocolError("a wording file maps instrument names to {item code: wording}", file=str(p))
    return {str(k): {str(c): str(t) for c, t in v.items()} for k, v in data.items()}
