"""``FallbackAdapter``: several LLMs behind one; switch on failure, return when healthy again."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .._exceptions import APIConnectionError, APIError
from .._fallback import AvailabilityChangedEvent, ProviderPool
from ..types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from .llm import LLM, LLMStream

if TYPE_CHECKING:
    from .chat_context import ChatContext
    from .tool_context import Tool, ToolChoice

__all__ = ["AvailabilityChangedEvent", "FallbackAdapter"]


class FallbackAdapter(LLM):
    """Try each LLM in order; an LLM that fails is skipped until a background probe succeeds.

    Emits ``llm_availability_changed`` with :class:`AvailabilityChangedEvent`. Once a stream has
    sent text, a failure is not retried on the next LLM (the user would hear the reply twice)
    unless ``retry_on_chunk_sent=True``.
    """

    def __init__(
        self,
        llm: list[LLM],
        *,
        attempt_timeout: float = 5.0,
        max_retry_per_llm: int = 0,
        retry_interval: float = 0.5,
        retry_on_chunk_sent: bool = False,
    ) -> None:
        super().__init__()
        self._pool: ProviderPool[LLM] = ProviderPool(
            llm, event_name="llm_availability_changed", emit=self.emit, retry_interval=retry_interval
        )
        self._attempt_opts = APIConnectOptions(
            max_retry=max_retry_per_llm, timeout=attempt_timeout, retry_interval=retry_interval
        )
        self._retry_on_chunk_sent = retry_on_chunk_sent
        for child in llm:
            child.on("metrics_collected", lambda m: self.emit("metrics_collected", m))

    @property
    def llms(self) -> list[LLM]:
        return list(self._pool.providers)

    @property
    def model(self) -> str:
        return "FallbackAdapter"

    @property
    def provider(self) -> str:
        return "livekit"

    def chat(
        self,
        *,
        chat_ctx: ChatContext,
        tools: list[Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> LLMStream:
        return _FallbackStream(
            self,
            chat_ctx=chat_ctx,
            tools=tools,
            kwargs={
                "parallel_tool_calls": parallel_tool_calls,
                "tool_choice": tool_choice,
                "extra_kwargs": extra_kwargs,
            },
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _FallbackStream(LLMStream):
    def __init__(
        self,
        adapter: FallbackAdapter,
        *,
        chat_ctx: ChatContext,
        tools: list[Tool] | None,
        kwargs: dict[str, Any],
    ) -> None:
        # retries happen per child LLM; the adapter itself never retries
        super().__init__(
            adapter, chat_ctx=chat_ctx, tools=tools, conn_options=APIConnectOptions(max_retry=0)
        )
        self._adapter = adapter
        self._kwargs = kwargs

    def _child_stream(self, llm: LLM) -> LLMStream:
        return llm.chat(
            chat_ctx=self._chat_ctx,
            tools=self._tools,
            conn_options=self._adapter._attempt_opts,
            **self._kwargs,
        )

    async def _run(self) -> None:
        pool = self._adapter._pool
        errors: list[str] = []
        for index, llm in pool.ordered():
            sent = False
            try:
                async with self._child_stream(llm) as stream:
                    async for chunk in stream:
                        if chunk.has_response():
                            sent = True
                        self._event_ch.send_nowait(chunk)
                pool.mark_ok(index)
                return
            except (APIError, asyncio.TimeoutError) as e:
                errors.append(f"{llm.label}: {e}")
                pool.mark_failed(index, self._probe(llm))
                if sent and not self._adapter._retry_on_chunk_sent:
                    raise APIConnectionError(
                        f"{llm.label} failed after sending part of the reply: {e}",
                        retryable=False,
                    ) from e
        raise APIConnectionError("all LLMs failed: " + "; ".join(errors), retryable=False)

    def _probe(self, llm: LLM) -> Any:
        async def probe() -> None:
            async with self._child_stream(llm) as stream:
                async for _ in stream:
                    pass

        return probe
