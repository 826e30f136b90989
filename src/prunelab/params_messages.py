"""params.yaml's problems worded for its user: the key, what is wrong, and what to do (a close key's name)."""

from __future__ import annotations

import difflib

from pydantic import BaseModel


def describe_error(error: dict, root: type[BaseModel]) -> str:
    """One problem pydantic found, as a line naming the key and what to do."""
    location = [str(part) for part in error["loc"]]
    key = ".".join(location) or "the top level"
    if error["type"] == "extra_forbidden":
        known = fields_at(root, location[:-1])
        close = difflib.get_close_matches(location[-1], known, n=1, cutoff=0.6)
        hint = f"did you mean {'.'.join([*location[:-1], close[0]])}?" if close else f"known keys: {', '.join(known)}"
        return f"{key} is not a known key; {hint}"
    if error["type"] == "missing":
        return f"{key} is missing; add it (see the default params.yaml)"
    if error["type"] == "value_error":  # our own rules, whose messages name their keys
        return error["msg"].removeprefix("Value error, ")
    message = error["msg"][0].lower() + error["msg"][1:]
    return f"{key}: {message} (got {error['input']!r})"


def fields_at(root: type[BaseModel], location: list[str]) -> list[str]:
    """The valid keys of the spec found by walking ``location`` down from ``root``."""
    model = root
    for part in location:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
