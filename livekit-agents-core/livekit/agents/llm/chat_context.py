"""The conversation: messages, tool calls and their outputs, and agent handoffs."""

from __future__ import annotations

import bisect
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeAlias, Union

from ..utils.misc import shortuuid

__all__ = [
    "AgentHandoff",
    "ChatContent",
    "ChatContext",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "FunctionCall",
    "FunctionCallOutput",
    "ImageContent",
]

ChatRole: TypeAlias = Literal["developer", "system", "user", "assistant"]
_ROLES = ("developer", "system", "user", "assistant")

#: Fixed id of the system message that carries the active agent's instructions.
INSTRUCTIONS_ID = "lk.agent_task.instructions"


@dataclass
class ImageContent:
    """An image in a message: an ``http(s)://`` URL or a ``data:`` URL."""

    image: str
    mime_type: str | None = None
    inference_detail: Literal["auto", "high", "low"] = "auto"
    id: str = field(default_factory=lambda: shortuuid("img_"))
    type: Literal["image_content"] = "image_content"


ChatContent: TypeAlias = Union[str, ImageContent]


@dataclass
class ChatMessage:
    role: ChatRole
    content: list[ChatContent] = field(default_factory=list)
    id: str = field(default_factory=lambda: shortuuid("item_"))
    interrupted: bool = False
    transcript_confidence: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: Per-turn latency measurements (see docs/concepts.md#metrics).
    metrics: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    type: Literal["message"] = "message"

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise ValueError(f"invalid chat role {self.role!r}; expected one of {', '.join(_ROLES)}")
        if isinstance(self.content, str):
            self.content = [self.content]

    @property
    def text_content(self) -> str | None:
        """The text parts joined by newlines, or None when the message has no text."""
        texts = [c for c in self.content if isinstance(c, str)]
        return "\n".join(texts) if texts else None


@dataclass
class FunctionCall:
    """A tool call requested by the LLM. ``arguments`` is the raw JSON text."""

    call_id: str
    name: str
    arguments: str
    id: str = field(default_factory=lambda: shortuuid("item_"))
    extra: dict[str, Any] = field(default_factory=dict)
    group_id: str | None = None
    created_at: float = field(default_factory=time.time)
    type: Literal["function_call"] = "function_call"


@dataclass
class FunctionCallOutput:
    """What a tool returned (``output`` as text), or the error it reported."""

    call_id: str
    output: str
    is_error: bool
    name: str = ""
    id: str = field(default_factory=lambda: shortuuid("item_"))
    created_at: float = field(default_factory=time.time)
    type: Literal["function_call_output"] = "function_call_output"


@dataclass
class AgentHandoff:
    """Marks the moment the active agent changed."""

    new_agent_id: str
    old_agent_id: str | None = None
    id: str = field(default_factory=lambda: shortuuid("item_"))
    created_at: float = field(default_factory=time.time)
    type: Literal["agent_handoff"] = "agent_handoff"


ChatItem: TypeAlias = Union[ChatMessage, FunctionCall, FunctionCallOutput, AgentHandoff]

_ITEM_TYPES: dict[str, type] = {
    "message": ChatMessage,
    "function_call": FunctionCall,
    "function_call_output": FunctionCallOutput,
    "agent_handoff": AgentHandoff,
}


class ChatContext:
    """An ordered list of chat items, kept sorted by ``created_at``."""

    def __init__(self, items: Iterable[ChatItem] | None = None) -> None:
        self._items: list[ChatItem] = list(items) if items else []

    @classmethod
    def empty(cls) -> ChatContext:
        return cls()

    @property
    def items(self) -> list[ChatItem]:
        return self._items

    @items.setter
    def items(self, items: list[ChatItem]) -> None:
        self._items = items

    def messages(self) -> list[ChatMessage]:
        return [i for i in self._items if isinstance(i, ChatMessage)]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Any:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"ChatContext({len(self._items)} items)"

    def add_message(
        self,
        *,
        role: ChatRole,
        content: str | Sequence[ChatContent],
        id: str | None = None,
        interrupted: bool = False,
        created_at: float | None = None,
        metrics: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ChatMessage:
        """Append (or insert by ``created_at``) a message and return it."""
        kwargs: dict[str, Any] = {}
        if id is not None:
            kwargs["id"] = id
        if created_at is not None:
            kwargs["created_at"] = created_at
        msg = ChatMessage(
            role=role,
            content=[content] if isinstance(content, str) else list(content),
            interrupted=interrupted,
            metrics=dict(metrics or {}),
            extra=dict(extra or {}),
            **kwargs,
        )
        self.insert(msg)
        return msg

    def insert(self, item: ChatItem | Sequence[ChatItem]) -> None:
        """Insert items at the position their ``created_at`` gives (stable for equal times)."""
        items = [item] if not isinstance(item, Sequence) else list(item)
        for it in items:
            if not self._items or self._items[-1].created_at <= it.created_at:
                self._items.append(it)
                continue
            keys = [i.created_at for i in self._items]
            self._items.insert(bisect.bisect_right(keys, it.created_at), it)

    def append(self, item: ChatItem) -> None:
        """Append regardless of ``created_at``."""
        self._items.append(item)

    def get_by_id(self, item_id: str) -> ChatItem | None:
        return next((i for i in self._items if i.id == item_id), None)

    def index_by_id(self, item_id: str) -> int | None:
        return next((n for n, i in enumerate(self._items) if i.id == item_id), None)

    def remove(self, item_id: str) -> bool:
        idx = self.index_by_id(item_id)
        if idx is None:
            return False
        del self._items[idx]
        return True

    def copy(
        self,
        *,
        exclude_function_call: bool = False,
        exclude_instructions: bool = False,
        exclude_empty_message: bool = False,
        exclude_handoff: bool = False,
        tools: Iterable[Any] | None = None,
    ) -> ChatContext:
        """A shallow copy, optionally without tool items, instructions, empty messages or handoffs.

        With ``tools``, tool calls (and their outputs) to tools not in the list are dropped.
        """
        tool_names: set[str] | None = None
        if tools is not None:
            tool_names = {str(getattr(t, "name", None) or getattr(t, "id", "")) for t in tools}
        kept_calls: set[str] = set()
        out: list[ChatItem] = []
        for item in self._items:
            if isinstance(item, (FunctionCall, FunctionCallOutput)):
                if exclude_function_call:
                    continue
                if tool_names is not None:
                    if isinstance(item, FunctionCall):
                        if item.name not in tool_names:
                            continue
                        kept_calls.add(item.call_id)
                    elif item.call_id not in kept_calls:
                        continue
            elif isinstance(item, ChatMessage):
                if exclude_instructions and item.role in ("system", "developer"):
                    continue
                if exclude_empty_message and not item.content:
                    continue
            elif isinstance(item, AgentHandoff) and exclude_handoff:
                continue
            out.append(item)
        return ChatContext(out)

    def truncate(self, *, max_items: int) -> ChatContext:
        """Keep the last ``max_items`` items (and the leading instructions), in place.

        Tool outputs are never left without their call at the start of the window.
        """
        if max_items <= 0:
            raise ValueError("max_items must be positive")
        if len(self._items) <= max_items:
            return self
        instructions = next(
            (i for i in self._items if isinstance(i, ChatMessage) and i.id == INSTRUCTIONS_ID),
            None,
        )
        tail = self._items[-max_items:]
        while tail and isinstance(tail[0], (FunctionCall, FunctionCallOutput)):
            tail.pop(0)
        if instructions is not None and instructions not in tail:
            tail.insert(0, instructions)
        self._items = tail
        return self

    def merge(
        self,
        other: ChatContext,
        *,
        exclude_function_call: bool = False,
        exclude_instructions: bool = False,
    ) -> ChatContext:
        """Insert the items of ``other`` that are not already here (by id), in place."""
        ids = {i.id for i in self._items}
        for item in other.copy(
            exclude_function_call=exclude_function_call, exclude_instructions=exclude_instructions
        ).items:
            if item.id not in ids:
                self.insert(item)
                ids.add(item.id)
        return self

    def is_equivalent(self, other: ChatContext) -> bool:
        """Same items by id and content, ignoring timestamps."""
        if len(self._items) != len(other._items):
            return False
        return all(_same_item(a, b) for a, b in zip(self._items, other._items, strict=True))

    def to_dict(
        self,
        *,
        exclude_function_call: bool = False,
        exclude_timestamp: bool = True,
    ) -> dict[str, Any]:
        items = []
        for item in self.copy(exclude_function_call=exclude_function_call).items:
            d = asdict(item)
            if exclude_timestamp:
                d.pop("created_at", None)
            items.append(d)
        return {"items": items}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatContext:
        items: list[ChatItem] = []
        for raw in data.get("items", []):
            kind = raw.get("type", "message")
            item_cls = _ITEM_TYPES.get(kind)
            if item_cls is None:
                raise ValueError(f"unknown chat item type {kind!r}")
            raw = dict(raw)
            if item_cls is ChatMessage:
                raw["content"] = [
                    ImageContent(**c) if isinstance(c, dict) else c for c in raw.get("content", [])
                ]
            items.append(item_cls(**raw))
        return cls(items)

    def to_provider_format(
        self, format: Literal["openai", "anthropic"], *, inject_dummy_user_message: bool = True
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Messages in a provider's wire format, plus format-specific extras.

        ``"openai"`` returns chat-completions messages and ``{}``; ``"anthropic"`` returns
        messages and ``{"system": <joined instructions>}``.
        """
        from ._provider_format import to_anthropic, to_openai

        if format == "openai":
            return to_openai(self), {}
        if format == "anthropic":
            return to_anthropic(self, inject_dummy_user_message=inject_dummy_user_message)
        raise ValueError(f"unsupported provider format {format!r}; expected 'openai' or 'anthropic'")

    def _text_transcript(self) -> str:
        """A human-readable transcript, used in test failure messages."""
        lines = []
        for item in self._items:
            if isinstance(item, ChatMessage):
                if item.role in ("system", "developer"):
                    continue
                text = item.text_content or ""
                mark = " (interrupted)" if item.interrupted else ""
                lines.append(f"  {item.role}: {text}{mark}")
            elif isinstance(item, FunctionCall):
                lines.append(f"  tool call: {item.name}({item.arguments})")
            elif isinstance(item, FunctionCallOutput):
                status = "error" if item.is_error else "result"
                lines.append(f"  tool {status}: {item.name} -> {_short(item.output)}")
            elif isinstance(item, AgentHandoff):
                lines.append(f"  handoff: {item.old_agent_id} -> {item.new_agent_id}")
        return "\n".join(lines) if lines else "  (empty conversation)"


def _item_key(item: ChatItem) -> tuple[object, ...]:
    """What makes two items equivalent (ids and content, not timestamps)."""
    if isinstance(item, ChatMessage):
        return (item.role, item.content)
    if isinstance(item, FunctionCall):
        return (item.name, item.arguments, item.call_id)
    if isinstance(item, FunctionCallOutput):
        return (item.output, item.is_error, item.call_id)
    return (item.new_agent_id, item.old_agent_id)


def _same_item(a: ChatItem, b: ChatItem) -> bool:
    return a.id == b.id and type(a) is type(b) and _item_key(a) == _item_key(b)


def _short(text: str, limit: int = 200) -> str:
    text = text if isinstance(text, str) else json.dumps(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
