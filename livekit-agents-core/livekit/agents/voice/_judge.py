"""LLM-as-judge for ``ChatMessageAssert.judge``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..llm import ChatContext, function_tool

if TYPE_CHECKING:
    from ..llm import LLM, ChatMessage

_SYSTEM = (
    "You are a strict evaluator of a voice assistant's reply. You receive an intent and the "
    "assistant's message. Decide whether the message fulfils the intent. Judge only what the "
    "message says; do not assume missing content. Answer by calling check_intent exactly once."
)


@function_tool
async def check_intent(success: bool, reason: str) -> None:
    """Report whether the message fulfils the intent.

    Args:
        success: True when the message fulfils the intent.
        reason: One sentence explaining the verdict.
    """


async def judge_message(llm: LLM, message: ChatMessage, *, intent: str) -> tuple[bool, str]:
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content=_SYSTEM)
    ctx.add_message(
        role="user",
        content=f"Intent: {intent}\n\nAssistant message:\n{message.text_content or ''}",
    )
    response = await llm.chat(chat_ctx=ctx, tools=[check_intent], tool_choice="required").collect()
    for call in response.tool_calls:
        if call.name != "check_intent":
            continue
        try:
            args = json.loads(call.arguments or "{}")
        except ValueError:
            return False, f"the judge sent unreadable arguments: {call.arguments!r}"
        return bool(args.get("success")), str(args.get("reason", ""))
    return False, f"the judge did not give a verdict (it said: {response.text!r})"
