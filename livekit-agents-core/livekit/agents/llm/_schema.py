"""Build a tool's JSON schema from its signature, and validate the LLM's arguments against it.

pydantic does the type work (Optional, Literal, enums, lists, nested models, Annotated fields);
docstring_parser reads argument descriptions from Google, NumPy, Sphinx and Epydoc docstrings.
Both are imported only when the first tool schema is needed.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .tool_context import ToolError

__all__ = ["ToolArgumentsError", "build_signature", "parse_arguments"]


class ToolArgumentsError(ToolError):
    """The LLM's arguments do not fit the tool's schema; the message is shown to the LLM."""


@dataclass
class _ToolSignature:
    description: str | None
    parameters: dict[str, Any]
    #: pydantic model validating the LLM-visible arguments (None for raw-schema tools)
    model: Any
    #: names of parameters the framework fills with the RunContext
    context_params: list[str] = field(default_factory=list)
    #: name of the parameter receiving the raw argument dict (raw-schema tools)
    raw_param: str | None = None


def _is_run_context(annotation: Any) -> bool:
    from ..voice.run_context import RunContext

    origin = typing.get_origin(annotation) or annotation
    if typing.get_origin(annotation) is typing.Annotated:
        return _is_run_context(typing.get_args(annotation)[0])
    return inspect.isclass(origin) and issubclass(origin, RunContext)


_RUN_CONTEXT_TEXT = re.compile(r"^([\w.]+\.)?RunContext(\[.*\])?$")


def _type_hints(func: Callable[..., Any], sig: inspect.Signature) -> dict[str, Any]:
    """Resolve annotations (also string ones from ``from __future__ import annotations``).

    A ``RunContext[T]`` whose ``T`` is local to a function cannot be evaluated; it is still
    recognized by name, since only its type matters to the framework.
    """
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:
        pass
    from ..voice.run_context import RunContext

    localns = dict(inspect.getclosurevars(func).nonlocals) if hasattr(func, "__code__") else {}
    hints: dict[str, Any] = {}
    for p in sig.parameters.values():
        ann = p.annotation
        if ann is inspect.Parameter.empty:
            continue
        if isinstance(ann, str):
            try:
                ann = eval(ann, getattr(func, "__globals__", {}), localns)
            except Exception as e:
                if _RUN_CONTEXT_TEXT.match(ann.replace(" ", "")):
                    ann = RunContext
                else:
                    raise TypeError(
                        f"cannot resolve the type {ann!r} of argument {p.name!r} of tool "
                        f"{func.__qualname__} ({e}); define the types a tool uses at module level"
                    ) from None
        hints[p.name] = ann
    return hints


def build_signature(
    func: Callable[..., Any], *, bound: bool, raw_schema: dict[str, Any] | None = None
) -> _ToolSignature:
    import docstring_parser
    import pydantic

    sig = inspect.signature(func)
    hints = _type_hints(func, sig)
    params = list(sig.parameters.values())
    if bound and params:
        params = params[1:]

    doc = docstring_parser.parse(inspect.getdoc(func) or "")
    description = "\n\n".join(p for p in (doc.short_description, doc.long_description) if p) or None
    arg_docs = {p.arg_name: p.description for p in doc.params if p.description}

    context_params = [p.name for p in params if _is_run_context(hints.get(p.name, p.annotation))]

    if raw_schema is not None:
        rest = [p for p in params if p.name not in context_params]
        if len(rest) != 1:
            raise TypeError(
                f"raw-schema tool {func.__qualname__} must take exactly one argument for the raw "
                f"arguments dict (plus an optional RunContext), got {[p.name for p in rest]}"
            )
        return _ToolSignature(
            description=description,
            parameters=raw_schema["parameters"],
            model=None,
            context_params=context_params,
            raw_param=rest[0].name,
        )

    fields: dict[str, Any] = {}
    for p in params:
        if p.name in context_params:
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(
                f"tool {func.__qualname__} cannot take *{p.name}: the LLM needs named arguments"
            )
        annotation = hints.get(p.name, Any)
        default = p.default if p.default is not inspect.Parameter.empty else ...
        arg_doc = arg_docs.get(p.name)
        info = (
            pydantic.Field(default=default, description=arg_doc)
            if arg_doc
            else pydantic.Field(default=default)
        )
        fields[p.name] = (annotation, info)

    name = "".join(part.capitalize() for part in func.__name__.split("_")) + "Args"
    try:
        model = pydantic.create_model(
            name, __config__=pydantic.ConfigDict(extra="forbid"), **fields
        )
        parameters = _clean(model.model_json_schema())
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError, TypeError) as e:
        raise TypeError(f"cannot build a JSON schema for tool {func.__qualname__}: {e}") from e
    parameters.setdefault("properties", {})
    parameters["type"] = "object"
    parameters.setdefault("required", [])
    return _ToolSignature(
        description=description,
        parameters=parameters,
        model=model,
        context_params=context_params,
    )


def _clean(schema: Any, *, in_mapping: bool = False) -> Any:
    """Drop pydantic's auto-generated titles; keep everything else."""
    if isinstance(schema, dict):
        out: dict[str, Any] = {}
        for k, v in schema.items():
            if in_mapping:
                out[k] = _clean(v)
            elif k == "title" and isinstance(v, str):
                continue
            elif k in ("properties", "$defs", "definitions"):
                out[k] = _clean(v, in_mapping=True)
            else:
                out[k] = _clean(v)
        return out
    if isinstance(schema, list):
        return [_clean(v) for v in schema]
    return schema


def parse_arguments(tool_name: str, sig: _ToolSignature, raw: str | None) -> dict[str, Any]:
    """Validate the LLM's JSON arguments; return keyword arguments (without the RunContext).

    Raises :class:`ToolArgumentsError` with a message meant for the LLM.
    """
    text = (raw or "").strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text[text.find("{") :] if "{" in text else text
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError as e:
        raise ToolArgumentsError(
            f"Error parsing arguments for `{tool_name}`: not valid JSON ({e.msg}). "
            f"Send the arguments as a JSON object."
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ToolArgumentsError(
            f"Error parsing arguments for `{tool_name}`: expected a JSON object, "
            f"got {type(data).__name__}."
        )

    if sig.raw_param is not None:
        return {sig.raw_param: data}

    import pydantic

    try:
        validated = sig.model.model_validate(data)
    except pydantic.ValidationError as e:
        problems = []
        for err in e.errors(include_url=False):
            loc = ".".join(str(x) for x in err.get("loc", ())) or "(arguments)"
            msg = err.get("msg", "invalid")
            if err.get("type") == "extra_forbidden":
                msg = "unexpected argument"
            problems.append(f"{loc}: {msg}")
        raise ToolArgumentsError(
            f"Error parsing arguments for `{tool_name}`: " + "; ".join(problems)
        ) from None
    return {name: getattr(validated, name) for name in sig.model.model_fields}
