"""Load YAML into a pydantic model so that every error names the file, the line and the field.

Used for protocols, analysis plans and instrument definitions alike.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from securebase.errors import ProtocolError

M = TypeVar("M", bound=BaseModel)
Path_ = tuple[str | int, ...]


def _line_map(node: yaml.Node, path: Path_ = (), out: dict[Path_, int] | None = None) -> dict[Path_, int]:
    """Map each key path in a composed YAML tree to its 1-based line."""
    if out is None:
        out = {}
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _line_map(value_node, path + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = item.start_mark.line + 1
            _line_map(item, path + (i,), out)
    return out


def _nearest_line(lines: dict[Path_, int], loc: Path_) -> int | None:
    for cut in range(len(loc), -1, -1):
        found = lines.get(tuple(loc[:cut]))
        if found is not None:
            return found
    return None


def _field_name(loc: Path_) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _known_fields(model: type[BaseModel], loc: Path_) -> list[str]:
    """Field names of the (nested) model at ``loc``, for spelling suggestions."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        for arg in getattr(ann, "__args__", ()) or (ann,):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                current = arg
                break
        else:
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                current = ann
    return list(getattr(current, "model_fields", {}))


def parse_yaml(text: str, file: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML text, returning the data and a map of key paths to lines."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ProtocolError(f"not valid YAML: {exc.problem or exc}; check indentation and quoting",
                            file=file, line=line) from None
    if node is None or data is None:
        raise ProtocolError("the file is empty; expected a YAML mapping", file=file, line=1)
    return data, _line_map(node)


def load_model(model: type[M], source: str | Path, *, text: str | None = None) -> M:
    """Read ``source`` (a path, or a label when ``text`` is given) and validate it as ``model``."""
    file = str(source)
    if text is None:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ProtocolError("file not found; check the path", file=file) from None
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8",
                                file=file) from None
    data, lines = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise ProtocolError(f"expected a YAML mapping at the top level (got {type(data).__name__})", file=file, line=1)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # a misspelt key shows up as "unknown" plus "missing": report the unknown one, it names the typo
        errs = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errs[0]
        loc = tuple(first["loc"])
        # model-level validators report an empty loc; their message says which field
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            msg = "this required field is missing"
        elif first["type"] == "extra_forbidden":
            msg = "unknown field; check the spelling against the documentation"
            known = _known_fields(model, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            if close:
                msg += f" (did you mean '{close[0]}'?)"
        elif "input" in first and first["type"] not in ("model_type",) and not isinstance(first["input"], (dict, list)):
            msg = f"{msg} (got {first['input']!r})"
        more = f" (and {len(errs) - 1} more problem{'s' if len(errs) > 2 else ''})" if len(errs) > 1 else ""
        raise ProtocolError(msg + more, file=file, line=_nearest_line(lines, loc), field=_field_name(loc)) from None
