"""Convert a :class:`ChatContext` to the message formats of LLM providers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .chat_context import ChatContext, ChatMessage

__all__ = ["to_anthropic", "to_openai"]

#: Anthropic requires the conversation to start with a user turn.
_ANTHROPIC_OPENING = "(The conversation begins.)"


def _image_part_openai(image: Any) -> dict[str, Any]:
    return {
        "type": "image_url",
        "image_url": {"url": image.image, "detail": image.inference_detail},
    }


def _message_content_openai(msg: ChatMessage) -> str | list[dict[str, Any]]:
    from .chat_context import ImageContent

    if all(isinstance(c, str) for c in msg.content):
        return "\n".join(c for c in msg.content if isinstance(c, str))
    parts: list[dict[str, Any]] = []
    for c in msg.content:
        if isinstance(c, str):
            parts.append({"type": "text", "text": c})
        elif isinstance(c, ImageContent):
            parts.append(_image_part_openai(c))
    return parts


def to_openai(ctx: ChatContext) -> list[dict[str, Any]]:
    """Chat Completions messages. Consecutive tool calls join the preceding assistant message."""
    from .chat_context import ChatMessage, FunctionCall, FunctionCallOutput

    out: list[dict[str, Any]] = []
    for item in ctx.items:
        if isinstance(item, ChatMessage):
            role = "system" if item.role == "developer" else item.role
            out.append({"role": role, "content": _message_content_openai(item)})
        elif isinstance(item, FunctionCall):
            call = {
                "id": item.call_id,
                "type": "function",
                "function": {"name": item.name, "arguments": item.arguments or "{}"},
            }
            last = out[-1] if out else None
            if last is not None and last["role"] == "assistant" and (
                "tool_calls" in last or isinstance(last.get("content"), str)
            ):
                last.setdefault("tool_calls", []).append(call)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif isinstance(item, FunctionCallOutput):
            out.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
    return out


def to_anthropic(
    ctx: ChatContext, *, inject_dummy_user_message: bool = True
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Anthropic Messages: instructions go to ``system``; same-role turns are merged."""
    from .chat_context import ChatMessage, FunctionCall, FunctionCallOutput, ImageContent

    system: list[str] = []
    messages: list[dict[str, Any]] = []

    def push(role: str, block: dict[str, Any]) -> None:
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].append(block)
        else:
            messages.append({"role": role, "content": [block]})

    for item in ctx.items:
        if isinstance(item, ChatMessage):
            if item.role in ("system", "developer"):
                if item.text_content:
                    system.append(item.text_content)
                continue
            for c in item.content:
                if isinstance(c, str):
                    if c:
                        push(item.role, {"type": "text", "text": c})
                elif isinstance(c, ImageContent):
                    push(item.role, _image_block_anthropic(c))
        elif isinstance(item, FunctionCall):
            import json

            try:
                args = json.loads(item.arguments or "{}")
            except ValueError:
                args = {}
            push(
                "assistant",
                {"type": "tool_use", "id": item.call_id, "name": item.name, "input": args},
            )
        elif isinstance(item, FunctionCallOutput):
            push(
                "user",
                {
                    "type": "tool_result",
                    "tool_use_id": item.call_id,
                    "content": item.output,
                    "is_error": item.is_error,
                },
            )

    if inject_dummy_user_message and (not messages or messages[0]["role"] != "user"):
        messages.insert(0, {"role": "user", "content": [{"type": "text", "text": _ANTHROPIC_OPENING}]})
    return messages, {"system": "\n\n".join(system)}


def _image_block_anthropic(image: Any) -> dict[str, Any]:
    url: str = image.image
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";")[0] or (image.mime_type or "image/png")
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}
