"""Availability bookkeeping shared by the STT, LLM and TTS fallback adapters."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from .log import logger

__all__ = ["AvailabilityChangedEvent", "ProviderPool"]

P = TypeVar("P")


@dataclass
class AvailabilityChangedEvent(Generic[P]):
    """Payload of ``*_availability_changed``: ``provider`` became (un)available."""

    provider: P
    available: bool

    # names used by the 1.x events (stt=..., llm=..., tts=...)
    @property
    def stt(self) -> P:
        return self.provider

    @property
    def llm(self) -> P:
        return self.provider

    @property
    def tts(self) -> P:
        return self.provider


class ProviderPool(Generic[P]):
    """Ordered providers with an ``available`` flag each and background recovery probes.

    A failed provider is skipped until a probe (the request that failed, replayed in the
    background with backoff) succeeds; then it is preferred again, in its original position.
    """

    def __init__(
        self,
        providers: list[P],
        *,
        event_name: str,
        emit: Callable[..., None],
        retry_interval: float,
    ) -> None:
        if not providers:
            raise ValueError("a fallback adapter needs at least one provider")
        self.providers = list(providers)
        self._available = [True] * len(providers)
        self._probes: dict[int, asyncio.Task[None]] = {}
        self._event_name = event_name
        self._emit = emit
        self._retry_interval = retry_interval

    def ordered(self) -> list[tuple[int, P]]:
        """Available providers first (in order), then the unavailable ones as a last resort."""
        up = [(i, p) for i, p in enumerate(self.providers) if self._available[i]]
        down = [(i, p) for i, p in enumerate(self.providers) if not self._available[i]]
        return up + down

    def is_available(self, index: int) -> bool:
        return self._available[index]

    def mark_failed(self, index: int, probe: Callable[[], Awaitable[None]] | None) -> None:
        if self._available[index]:
            self._available[index] = False
            logger.warning("%r is unavailable, switching to the next provider", self.providers[index])
            self._emit(self._event_name, AvailabilityChangedEvent(self.providers[index], False))
        if probe is not None and index not in self._probes:
            task = asyncio.get_running_loop().create_task(self._recover(index, probe))
            self._probes[index] = task

    def mark_ok(self, index: int) -> None:
        if not self._available[index]:
            self._available[index] = True
            logger.info("%r is available again", self.providers[index])
            self._emit(self._event_name, AvailabilityChangedEvent(self.providers[index], True))

    async def _recover(self, index: int, probe: Callable[[], Awaitable[None]]) -> None:
        delay = self._retry_interval
        try:
            while not self._available[index]:
                await asyncio.sleep(delay)
                try:
                    await probe()
                except Exception as e:
                    logger.debug("recovery probe of %r failed: %s", self.providers[index], e)
                    delay = min(delay * 2, 60.0)
                    continue
                self.mark_ok(index)
        finally:
            self._probes.pop(index, None)

    async def aclose(self) -> None:
        tasks = list(self._probes.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
