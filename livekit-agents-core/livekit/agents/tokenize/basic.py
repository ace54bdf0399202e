"""Rule-based sentence and word tokenizers (no dependencies, tuned for TTS latency).

Sentences end at ``. ! ? …`` (and their CJK forms) followed by a space or a line break, except
after common abbreviations, initials and inside numbers (``3.14``). Sentences shorter than
``min_sentence_len`` characters are joined to the next one so the TTS gets natural chunks;
the first sentence of a reply is released as soon as it is complete, without waiting.
"""

from __future__ import annotations

import re

from .tokenizer import SentenceStream
from .tokenizer import SentenceTokenizer as _SentenceTokenizerBase
from .tokenizer import WordTokenizer as _WordTokenizerBase

__all__ = ["SentenceTokenizer", "WordTokenizer", "split_sentences", "split_words"]

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd",
    "co", "corp", "no", "fig", "approx", "dept", "est", "mt", "ave", "u.s", "u.k", "a.m", "p.m",
}
_END_CHARS = ".!?…。！？"
_CLOSERS = "\"')]}»”’"
_BOUNDARY = re.compile(r"[.!?…。！？]+[\"')\]}»”’]*(?=\s)|[。！？]+|\n\s*\n")


def _is_false_boundary(text: str, end: int) -> bool:
    """True when the period ending at ``end`` belongs to an abbreviation or an initial."""
    if text[end - 1] != ".":
        return False
    start = end - 1
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    word = text[start : end - 1].lower().strip(_CLOSERS + "(\"'")
    if word in _ABBREVIATIONS:
        return True
    return len(word) == 1 and word.isalpha() and word.isupper() is False and text[start].isupper()


def split_sentences(text: str, *, min_sentence_len: int = 1) -> tuple[list[str], str]:
    """Complete sentences in ``text``, and the unfinished remainder."""
    sentences: list[str] = []
    pending = ""
    pos = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        if m.group().strip() and _is_false_boundary(text, end):
            continue
        piece = text[pos:end].strip()
        pos = end
        if not piece:
            continue
        pending = f"{pending} {piece}" if pending else piece
        if len(pending) >= min_sentence_len:
            sentences.append(pending)
            pending = ""
    rest = text[pos:].lstrip()
    if pending:
        rest = f"{pending} {rest}" if rest else pending
    return sentences, rest


def split_words(text: str, *, ignore_punctuation: bool = True) -> list[str]:
    words = text.split()
    if ignore_punctuation:
        words = [w.strip(".,!?;:…\"'()[]{}«»“”‘’-") for w in words]
    return [w for w in words if w]


class SentenceTokenizer(_SentenceTokenizerBase):
    def __init__(self, *, language: str = "english", min_sentence_len: int = 20) -> None:
        self._language = language
        self._min_len = min_sentence_len

    def tokenize(self, text: str, *, language: str | None = None) -> list[str]:
        sentences, rest = split_sentences(text, min_sentence_len=self._min_len)
        if rest.strip():
            sentences.append(rest.strip())
        return sentences

    def stream(self, *, language: str | None = None) -> SentenceStream:
        return _BasicSentenceStream(min_sentence_len=self._min_len)


class _BasicSentenceStream(SentenceStream):
    def __init__(self, *, min_sentence_len: int) -> None:
        super().__init__()
        self._min_len = min_sentence_len
        self._buf = ""
        self._first = True

    def push_text(self, text: str) -> None:
        if self._ended:
            raise RuntimeError("cannot push text to a sentence stream that has ended")
        self._buf += text
        # the first sentence goes out as soon as it is complete: it sets the time to first audio
        min_len = 1 if self._first else self._min_len
        sentences, self._buf = split_sentences(self._buf, min_sentence_len=min_len)
        for s in sentences:
            self._emit(s)
            self._first = False

    def flush(self) -> None:
        if self._ended:
            return
        sentences, rest = split_sentences(self._buf, min_sentence_len=self._min_len)
        for s in sentences:
            self._emit(s)
        if rest.strip():
            self._emit(rest.strip())
        self._buf = ""
        self._first = True
        self._new_segment()


class WordTokenizer(_WordTokenizerBase):
    def __init__(self, *, ignore_punctuation: bool = True) -> None:
        self._ignore_punctuation = ignore_punctuation

    def tokenize(self, text: str, *, language: str | None = None) -> list[str]:
        return split_words(text, ignore_punctuation=self._ignore_punctuation)
