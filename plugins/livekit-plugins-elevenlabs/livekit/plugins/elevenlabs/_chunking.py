"""Cut streamed LLM text into the pieces the streaming-input websocket expects.

The API wants text in whole words, each message ending with a space. In the default mode every
complete word is forwarded as soon as it arrives (the server buffers by its chunk-length schedule),
and a message that completes a sentence asks the server to start generating
(``try_trigger_generation``). With ``auto_mode`` the server generates on every message, so only
whole sentences are sent.
"""

from __future__ import annotations

import re

__all__ = ["TextChunker"]

_SENTENCE_END = re.compile(r"[.!?…。！？]+[\"')\]}»”’]*$")
_ABBREVIATIONS = frozenset(
    {"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "etc.", "e.g.", "i.e."}
)


def _ends_sentence(word: str) -> bool:
    return bool(_SENTENCE_END.search(word)) and word.lower() not in _ABBREVIATIONS


class TextChunker:
    """Turn text deltas into ``(text, ends_sentence)`` messages; see the module docstring."""

    def __init__(self, *, sentences_only: bool = False) -> None:
        self._sentences_only = sentences_only
        self._partial = ""
        self._words: list[str] = []

    def push(self, delta: str) -> list[tuple[str, bool]]:
        """Messages ready to send after ``delta``."""
        self._partial += delta
        parts = re.split(r"(\s+)", self._partial)
        # parts alternate word, space, word...; the last one is an unfinished word (maybe "")
        self._partial = parts[-1]
        complete = [p for p in parts[:-1] if p and not p.isspace()]
        out: list[tuple[str, bool]] = []
        for word in complete:
            self._words.append(word)
            if _ends_sentence(word):
                out.append((" ".join(self._words) + " ", True))
                self._words = []
        if self._words and not self._sentences_only:
            out.append((" ".join(self._words) + " ", False))
            self._words = []
        if not self._sentences_only and len(out) > 1:
            # one message per delta: the trigger flag says whether it ends on a sentence
            out = [("".join(text for text, _ in out), out[-1][1])]
        return out

    def flush(self) -> str:
        """Everything not yet sent, ending with a space (``""`` when nothing is pending)."""
        words = [*self._words, *self._partial.split()]
        self._words = []
        self._partial = ""
        return " ".join(words) + " " if words else ""
