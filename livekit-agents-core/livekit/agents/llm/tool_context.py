"""Function tools: Python callables the LLM can call, and the sets they come in."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypedDict, TypeVar, Union, overload

if TYPE_CHECKING:
    from ._schema import _ToolSignature

__all__ = [
    "FunctionTool",
    "FunctionToolInfo",
    "NamedToolChoice",
    "StopResponse",
    "Tool",
    "ToolChoice",
    "ToolContext",
    "ToolError",
    "ToolFlag",
    "Toolset",
    "find_function_tools",
    "function_tool",
    "is_function_tool",
]

_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class ToolError(Exception):
    """Raise from a tool to report an error to the LLM; ``message`` is what the LLM sees."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StopResponse(Exception):
    """Raise from a tool or ``on_user_turn_completed`` to end the turn without a reply."""


class ToolFlag(enum.Flag):
    NONE = 0
    #: Hidden from the LLM for the reply generated inside ``on_enter``.
    IGNORE_ON_ENTER = enum.auto()


class NamedToolChoice(TypedDict):
    type: Literal["function"]
    function: dict[str, str]


ToolChoice: TypeAlias = Union[NamedToolChoice, Literal["auto", "required", "none"]]


@dataclass(frozen=True)
class FunctionToolInfo:
    name: str
    description: str | None
    flags: ToolFlag = ToolFlag.NONE


class Tool:
    """Base of everything that can go in ``tools=[...]``."""

    @property
    def id(self) -> str:
        raise NotImplementedError


class _Shared:
    """State shared by a tool and all its bound copies (the schema is built once)."""

    __slots__ = ("signature",)

    def __init__(self) -> None:
        self.signature: _ToolSignature | None = None


class FunctionTool(Tool):
    """A callable exposed to the LLM with a JSON schema built from its signature and docstring.

    Made with :func:`function_tool`. When defined as a method of an ``Agent`` (or any class),
    accessing it on an instance gives a tool bound to that instance.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        flags: ToolFlag = ToolFlag.NONE,
        raw_schema: dict[str, Any] | None = None,
        _instance: Any = None,
        _shared: _Shared | None = None,
    ) -> None:
        if not callable(func):
            raise TypeError(f"function_tool needs a callable, got {func!r}")
        if raw_schema is not None:
            _check_raw_schema(raw_schema)
            name = name or raw_schema["name"]
            description = description if description is not None else raw_schema.get("description")
        name = name or getattr(func, "__name__", None)
        if not name or not _NAME_RE.match(name):
            raise ValueError(
                f"invalid tool name {name!r}: use 1-64 letters, digits, '_' or '-' "
                f"(pass name= to function_tool to choose one)"
            )
        self._func = func
        self._name = name
        self._description = description
        self._flags = flags
        self._raw_schema = raw_schema
        self._instance = _instance
        self._shared = _shared or _Shared()
        self.__doc__ = getattr(func, "__doc__", None)
        self.__wrapped__ = func

    # descriptor protocol: methods on classes become bound tools
    def __get__(self, obj: Any, objtype: Any = None) -> FunctionTool:
        if obj is None:
            return self
        cache = obj.__dict__.setdefault("_lk_bound_tools", {}) if hasattr(obj, "__dict__") else None
        if cache is not None and id(self) in cache:
            return cache[id(self)]  # type: ignore[no-any-return]
        bound = FunctionTool(
            self._func,
            name=self._name,
            description=self._description,
            flags=self._flags,
            raw_schema=self._raw_schema,
            _instance=obj,
            _shared=self._shared,
        )
        if cache is not None:
            cache[id(self)] = bound
        return bound

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._instance is not None:
            return self._func(self._instance, *args, **kwargs)
        return self._func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FunctionTool(name={self._name!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FunctionTool):
            return NotImplemented
        return self._func is other._func and self._instance is other._instance

    def __hash__(self) -> int:
        return hash((id(self._func), id(self._instance)))

    @property
    def id(self) -> str:
        return self._name

    @property
    def name(self) -> str:
        return self._name

    @property
    def info(self) -> FunctionToolInfo:
        return FunctionToolInfo(name=self._name, description=self.description, flags=self._flags)

    @property
    def flags(self) -> ToolFlag:
        return self._flags

    @property
    def is_raw(self) -> bool:
        return self._raw_schema is not None

    @property
    def func(self) -> Callable[..., Any]:
        return self._func

    @property
    def instance(self) -> Any:
        return self._instance

    @property
    def description(self) -> str | None:
        if self._description is not None:
            return self._description
        return self._signature().description

    def _signature(self) -> _ToolSignature:
        if self._shared.signature is None:
            from ._schema import build_signature

            self._shared.signature = build_signature(
                self._func, bound=_is_method(self._func), raw_schema=self._raw_schema
            )
        return self._shared.signature

    @property
    def parameters_schema(self) -> dict[str, Any]:
        """JSON schema of the arguments (``{"type": "object", ...}``)."""
        return self._signature().parameters

    def schema(self) -> dict[str, Any]:
        """Provider-neutral schema: ``{"name", "description", "parameters"}``."""
        out: dict[str, Any] = {"name": self._name, "parameters": self.parameters_schema}
        if self.description:
            out["description"] = self.description
        return out

    def with_func(self, func: Callable[..., Any]) -> FunctionTool:
        """Same name and schema, another implementation (used by ``mock_tools``)."""
        return FunctionTool(
            func,
            name=self._name,
            description=self._description,
            flags=self._flags,
            raw_schema=self._raw_schema,
            _shared=self._shared,
        )


def _is_method(func: Callable[..., Any]) -> bool:
    """True for a function defined in a class body (its first parameter is the instance)."""
    parts = getattr(func, "__qualname__", "").split(".")
    return len(parts) >= 2 and parts[-2] != "<locals>"


def _check_raw_schema(raw: dict[str, Any]) -> None:
    if not isinstance(raw, dict):
        raise TypeError("raw_schema must be a dict with 'name' and 'parameters'")
    if not raw.get("name"):
        raise ValueError("raw_schema needs a non-empty 'name'")
    params = raw.get("parameters")
    if not isinstance(params, dict) or params.get("type", "object") != "object":
        raise ValueError("raw_schema needs 'parameters': a JSON schema of type 'object'")


_F = TypeVar("_F", bound=Callable[..., Any])


@overload
def function_tool(f: Callable[..., Any], /) -> FunctionTool: ...


@overload
def function_tool(
    f: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    raw_schema: dict[str, Any] | None = None,
    flags: ToolFlag = ToolFlag.NONE,
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def function_tool(
    f: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    raw_schema: dict[str, Any] | None = None,
    flags: ToolFlag = ToolFlag.NONE,
) -> Any:
    """Turn a function or method into a tool the LLM can call.

    The schema comes from the type hints (``Optional``, ``Literal``, enums, lists, pydantic
    models, ``Annotated[..., Field(description=...)]``) and the docstring (its summary becomes the
    description, its ``Args:`` section the argument descriptions). A parameter typed
    ``RunContext`` is filled in by the framework and hidden from the LLM. With ``raw_schema``
    the function receives ``raw_arguments: dict`` instead.
    """

    def decorator(func: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(
            func, name=name, description=description, flags=flags, raw_schema=raw_schema
        )

    if f is not None:
        return decorator(f)
    return decorator


def is_function_tool(obj: Any) -> bool:
    return isinstance(obj, FunctionTool)


def find_function_tools(obj: Any) -> list[FunctionTool]:
    """The ``@function_tool`` methods of ``obj``'s class, bound to ``obj``, in definition order."""
    seen: set[str] = set()
    tools: list[FunctionTool] = []
    for klass in reversed(type(obj).__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, FunctionTool):
                if attr in seen:
                    tools = [t for t in tools if t._name != value._name]
                seen.add(attr)
                tools.append(value.__get__(obj, type(obj)))
    return tools


class Toolset(Tool):
    """A named group of tools; subclasses may load tools in :meth:`setup` (e.g. MCP)."""

    def __init__(self, *, id: str, tools: Iterable[Tool] | None = None) -> None:
        self._id = id
        self._tools: list[Tool] = list(tools or []) + list(find_function_tools(self))

    @property
    def id(self) -> str:
        return self._id

    @property
    def tools(self) -> list[Tool]:
        return list(self._tools)

    async def setup(self) -> None:
        """Prepare the tools (connect, list). Called before the agent first uses them."""

    async def aclose(self) -> None:
        """Release what :meth:`setup` acquired."""


class ToolContext:
    """The flat set of function tools available to one LLM call, indexed by name."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self._tools = list(tools)
        self._function_tools: dict[str, FunctionTool] = {}
        self._toolsets: list[Toolset] = []
        self._add(self._tools)

    def _add(self, tools: Iterable[Tool]) -> None:
        for tool in tools:
            if isinstance(tool, FunctionTool):
                existing = self._function_tools.get(tool.name)
                if existing is not None and existing != tool:
                    raise ValueError(
                        f"two tools are named {tool.name!r}; tool names must be unique"
                    )
                self._function_tools[tool.name] = tool
            elif isinstance(tool, Toolset):
                self._toolsets.append(tool)
                self._add(tool.tools)
            else:
                raise TypeError(
                    f"unsupported tool {tool!r}: use @function_tool functions or Toolset objects"
                )

    @classmethod
    def empty(cls) -> ToolContext:
        return cls([])

    @property
    def function_tools(self) -> dict[str, FunctionTool]:
        return dict(self._function_tools)

    @property
    def toolsets(self) -> list[Toolset]:
        return list(self._toolsets)

    def get_function_tool(self, name: str) -> FunctionTool | None:
        return self._function_tools.get(name)

    def flatten(self) -> list[FunctionTool]:
        return list(self._function_tools.values())

    def copy(self) -> ToolContext:
        return ToolContext(self._tools)

    def __len__(self) -> int:
        return len(self._function_tools)
