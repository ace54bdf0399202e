"""The core's event emitter: sync and async handlers, once, off, failures contained."""

from __future__ import annotations

import asyncio
import logging

import pytest

from livekit.agents.utils.event_emitter import EventEmitter


class _Listener:
    def __init__(self) -> None:
        self.got: list[int] = []

    def on_value(self, value: int) -> None:
        self.got.append(value)


async def test_off_removes_a_bound_method_handler() -> None:
    ee: EventEmitter[str] = EventEmitter()
    listener = _Listener()
    ee.on("value", listener.on_value)
    ee.emit("value", 1)
    ee.off("value", listener.on_value)  # a new bound-method object, equal to the registered one
    ee.emit("value", 2)
    assert listener.got == [1]
    assert not ee.has_listeners("value")


async def test_once_and_off_of_a_once_handler() -> None:
    ee: EventEmitter[str] = EventEmitter()
    listener = _Listener()
    ee.once("value", listener.on_value)
    ee.emit("value", 1)
    ee.emit("value", 2)
    assert listener.got == [1]
    ee.once("value", listener.on_value)
    ee.off("value", listener.on_value)
    ee.emit("value", 3)
    assert listener.got == [1]


async def test_handlers_may_be_async_and_may_fail(caplog: pytest.LogCaptureFixture) -> None:
    ee: EventEmitter[str] = EventEmitter()
    got: list[str] = []

    def broken(_: str) -> None:
        raise RuntimeError("handler bug")

    async def slow(value: str) -> None:
        await asyncio.sleep(0)
        got.append(value)

    ee.on("e", broken)
    ee.on("e", slow)
    with caplog.at_level(logging.ERROR):
        ee.emit("e", "x")
        for _ in range(5):
            await asyncio.sleep(0)
    assert got == ["x"]
    assert "handler bug" in caplog.text
