"""Transforms applied to the text sent to the TTS (never to the transcript or the history).

LLMs write markdown and emoji that a TTS would read aloud ("asterisk asterisk"). The defaults
drop markdown markers and emoji; a callable ``(AsyncIterable[str]) -> AsyncIterable[str]`` can be
added to the list for custom rewriting.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import TypeAlias, Union

__all__ = ["TextTransform", "apply_text_transforms", "filter_emoji", "filter_markdown"]

TextTransform: TypeAlias = Union[str, Callable[[AsyncIterable[str]], AsyncIterable[str]]]

_EMOJI = re.compile(
    "[\U0001f300-\U0001faff\U00002600-\U000027bf\U0001f1e6-\U0001f1ff\U0000fe0f\U0000200d]+"
)
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_INLINE = re.compile(r"(\*\*|__|\*|`+|~~)")
_LINE_MARKER = re.compile(r"(\n)[ \t]*(#{1,6}[ \t]+|>[ \t]?|[-*+][ \t]+(?=\S))")
_FIRST_LINE_MARKER = re.compile(r"^[ \t]*(#{1,6}[ \t]+|>[ \t]?|[-*+][ \t]+(?=\S))")


def _safe_cut(pending: str) -> int:
    """How much of ``pending`` can be cleaned now without splitting a markdown construct."""
    cut = len(pending)
    nl = pending.rfind("\n")
    if nl != -1 and len(pending) - nl <= 8 and not pending[nl + 1 :].strip(" \t#>*-+"):
        cut = nl + 1  # a line-start marker may still be arriving
    lb = pending.rfind("[")
    if lb != -1 and len(pending) - lb < 300:
        tail = pending[lb:]
        if "]" not in tail or ("](" in tail and ")" not in tail[tail.index("](") + 2 :]):
            cut = min(cut, lb)
    while cut > 0 and pending[cut - 1] in "*_`~":
        cut -= 1
    return cut


async def filter_markdown(text: AsyncIterable[str]) -> AsyncIterator[str]:
    """Drop emphasis markers, code ticks, headings, quotes and bullets; keep link text."""
    pending = ""
    line_start = True
    async for delta in text:
        pending += delta
        cut = _safe_cut(pending)
        ready, pending = pending[:cut], pending[cut:]
        if ready:
            yield _strip_markdown(ready, line_start)
            line_start = ready.endswith("\n")
    if pending:
        yield _strip_markdown(pending, line_start)


def _strip_markdown(text: str, line_start: bool) -> str:
    text = _LINK.sub(r"\1", text)
    if line_start:
        text = _FIRST_LINE_MARKER.sub("", text)
    text = _LINE_MARKER.sub(r"\1", text)
    return _INLINE.sub("", text)


async def filter_emoji(text: AsyncIterable[str]) -> AsyncIterator[str]:
    async for delta in text:
        cleaned = _EMOJI.sub("", delta)
        if cleaned:
            yield cleaned


_BUILTIN: dict[str, Callable[[AsyncIterable[str]], AsyncIterable[str]]] = {
    "filter_markdown": filter_markdown,
    "filter_emoji": filter_emoji,
}


def check_transforms(transforms: Sequence[TextTransform] | None) -> list[TextTransform]:
    out: list[TextTransform] = []
    for t in transforms or []:
        if isinstance(t, str) and t not in _BUILTIN:
            raise ValueError(
                f"unknown text transform {t!r}; built-in ones are {', '.join(_BUILTIN)}, or pass a callable"
            )
        if not isinstance(t, str) and not callable(t):
            raise TypeError(f"a text transform must be a name or a callable, got {t!r}")
        out.append(t)
    return out


def apply_text_transforms(
    text: AsyncIterable[str], transforms: Sequence[TextTransform] | None
) -> AsyncIterable[str]:
    for t in transforms or []:
        fn = _BUILTIN[t] if isinstance(t, str) else t
        text = fn(text)
    return text
