"""A small event emitter whose handlers may be sync or async and can never break the emitter."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from ..log import logger

__all__ = ["EventEmitter"]

T_contra = TypeVar("T_contra", bound=str)
_F = TypeVar("_F", bound=Callable[..., Any])


class EventEmitter(Generic[T_contra]):
    """``on(event, handler)``, ``once``, ``off`` and ``emit``.

    ``emit`` calls synchronous handlers in registration order and schedules coroutine handlers as
    tasks. An exception in a handler is logged with the event name; it never propagates to the
    code that emitted the event.
    """

    def __init__(self) -> None:
        # each handler is stored with how many positional arguments it accepts (None = any)
        self._handlers: dict[str, list[tuple[Callable[..., Any], int | None]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    @overload
    def on(self, event: T_contra) -> Callable[[_F], _F]: ...

    @overload
    def on(self, event: T_contra, callback: _F) -> _F: ...

    def on(self, event: T_contra, callback: Callable[..., Any] | None = None) -> Any:
        """Register ``callback`` for ``event``; usable as a decorator."""
        if callback is None:

            def decorator(fn: _F) -> _F:
                self.on(event, fn)
                return fn

            return decorator
        if not callable(callback):
            raise TypeError(f"event handler for {event!r} must be callable, got {callback!r}")
        self._handlers.setdefault(event, []).append((callback, _max_positional(callback)))
        return callback

    def once(self, event: T_contra, callback: Callable[..., Any] | None = None) -> Any:
        """Like :meth:`on`, but the handler runs only for the next emission."""
        if callback is None:

            def decorator(fn: _F) -> _F:
                self.once(event, fn)
                return fn

            return decorator

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.off(event, wrapper)
            return callback(*args, **kwargs)

        wrapper.__wrapped__ = callback  # type: ignore[attr-defined]
        return self.on(event, wrapper)

    def off(self, event: T_contra, callback: Callable[..., Any]) -> None:
        handlers = self._handlers.get(event)
        if not handlers:
            return
        # equality, not identity: ``obj.method`` is a new bound-method object on every access
        for i, (h, _) in enumerate(handlers):
            if h == callback or getattr(h, "__wrapped__", None) == callback:
                del handlers[i]
                return

    def has_listeners(self, event: T_contra) -> bool:
        return bool(self._handlers.get(event))

    def emit(self, event: T_contra, *args: Any) -> None:
        handlers = self._handlers.get(event)
        if not handlers:
            return
        for handler, arity in list(handlers):
            try:
                result = handler(*(args if arity is None or arity >= len(args) else args[:arity]))
            except Exception:
                logger.exception("error in %r event handler %s", event, _name(handler))
                continue
            if inspect.isawaitable(result):
                self._spawn(event, handler, result)

    def _spawn(self, event: str, handler: Callable[..., Any], aw: Any) -> None:
        async def run() -> None:
            try:
                await aw
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("error in %r event handler %s", event, _name(handler))

        try:
            task = asyncio.get_running_loop().create_task(run())
        except RuntimeError:
            logger.error("async %r event handler %s needs a running event loop", event, _name(handler))
            if hasattr(aw, "close"):
                aw.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _max_positional(handler: Callable[..., Any]) -> int | None:
    try:
        sig = inspect.signature(handler)
    except (TypeError, ValueError):
        return None
    count = 0
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count
