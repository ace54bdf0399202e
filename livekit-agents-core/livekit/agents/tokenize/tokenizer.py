"""Tokenizer protocols: split streamed text into sentences (for TTS) or words."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ..utils.aio import Chan, ChanClosed
from ..utils.misc import shortuuid

__all__ = ["SentenceStream", "SentenceTokenizer", "TokenData", "WordTokenizer"]


@dataclass
class TokenData:
    token: str
    segment_id: str = ""


class SentenceTokenizer(ABC):
    @abstractmethod
    def tokenize(self, text: str, *, language: str | None = None) -> list[str]: ...

    @abstractmethod
    def stream(self, *, language: str | None = None) -> SentenceStream: ...


class WordTokenizer(ABC):
    @abstractmethod
    def tokenize(self, text: str, *, language: str | None = None) -> list[str]: ...


class SentenceStream(ABC):
    """Push text as it streams in; iterate sentences as soon as they are complete.

    ``flush()`` ends the current segment (everything buffered is released as a sentence);
    ``end_input()`` also ends the stream.
    """

    def __init__(self) -> None:
        self._out: Chan[TokenData] = Chan()
        self._segment_id = shortuuid("seg_")
        self._ended = False

    @abstractmethod
    def push_text(self, text: str) -> None: ...

    @abstractmethod
    def flush(self) -> None: ...

    def end_input(self) -> None:
        if self._ended:
            return
        self.flush()
        self._ended = True
        self._out.close()

    async def aclose(self) -> None:
        self._ended = True
        self._out.close()

    def _emit(self, token: str) -> None:
        self._out.send_nowait(TokenData(token=token, segment_id=self._segment_id))

    def _new_segment(self) -> None:
        self._segment_id = shortuuid("seg_")

    def __aiter__(self) -> AsyncIterator[TokenData]:
        return self

    async def __anext__(self) -> TokenData:
        try:
            return await self._out.recv()
        except ChanClosed:
            raise StopAsyncIteration from None
