"""Observer hooks: let plugins watch sessions without touching user code.

An observer plugin is any object (often a module) with functions marked ``@hookimpl``,
registered through the entry-point group ``livekit.agents.hooks``::

    # my_observer.py
    from livekit.agents.hooks import hookimpl

    @hookimpl
    def conversation_item_added(session, item):
        print(item.role, item.text_content)

    # pyproject.toml
    [project.entry-points."livekit.agents.hooks"]
    my-observer = "my_observer"

Hooks only observe: their return values are ignored, and a hook that raises is logged and
skipped, never breaking the session. Set ``LIVEKIT_AGENTS_DISABLE_HOOKS`` to a comma-separated
list of entry-point names (or ``*``) to turn installed observers off.
"""

from __future__ import annotations

import importlib.metadata as importlib_metadata
import os
import threading
from typing import TYPE_CHECKING, Any

import pluggy

from .log import logger

if TYPE_CHECKING:
    from .voice.agent_session import AgentSession

__all__ = ["HOOKS_GROUP", "hookimpl", "hookspec", "notify", "plugin_manager", "register", "unregister"]

PROJECT = "livekit.agents"
HOOKS_GROUP = "livekit.agents.hooks"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class SessionHookSpecs:
    """The hooks an observer plugin may implement. Each receives keyword arguments."""

    @hookspec
    def session_started(self, session: AgentSession[Any]) -> None:
        """The session started and its first agent is running."""

    @hookspec
    def session_closed(self, session: AgentSession[Any], reason: str, error: Exception | None) -> None:
        """The session closed; ``reason`` is a :class:`CloseReason` value."""

    @hookspec
    def conversation_item_added(self, session: AgentSession[Any], item: Any) -> None:
        """A chat item (user or assistant message, handoff) was committed to the history."""

    @hookspec
    def metrics_collected(self, session: AgentSession[Any], metrics: Any) -> None:
        """A provider or the pipeline reported metrics (LLM, STT, TTS, VAD, end of utterance)."""

    @hookspec
    def session_error(self, session: AgentSession[Any], error: Any) -> None:
        """A provider reported an error (recoverable or not)."""


_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide manager, with installed observer plugins loaded on first use."""
    global _manager
    with _lock:
        if _manager is None:
            pm = pluggy.PluginManager(PROJECT)
            pm.add_hookspecs(SessionHookSpecs)
            _load_entry_points(pm)
            _manager = pm
        return _manager


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    disabled = {
        n.strip().lower()
        for n in os.environ.get("LIVEKIT_AGENTS_DISABLE_HOOKS", "").split(",")
        if n.strip()
    }
    if "*" in disabled:
        return
    for ep in importlib_metadata.entry_points(group=HOOKS_GROUP):
        if ep.name.lower() in disabled or pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception:
            logger.exception("failed to load observer plugin %r (%s); it is skipped", ep.name, ep.value)


def register(plugin: object, name: str | None = None) -> str | None:
    """Register an observer object in code (same hooks as entry-point observers)."""
    return plugin_manager().register(plugin, name=name)


def unregister(plugin: object) -> None:
    plugin_manager().unregister(plugin)


def notify(hook_name: str, **kwargs: Any) -> None:
    """Call every implementation of ``hook_name``; a failing one is logged and skipped."""
    pm = plugin_manager()
    caller = getattr(pm.hook, hook_name)
    for impl in caller.get_hookimpls():
        try:
            impl.function(**{k: kwargs[k] for k in impl.argnames if k in kwargs})
        except Exception:
            logger.exception(
                "observer hook %s of plugin %r raised; the session continues",
                hook_name,
                impl.plugin_name,
            )


def _has_observers() -> bool:
    """Cheap check used by the session to skip building hook payloads when nobody listens."""
    return bool(plugin_manager().get_plugins())
