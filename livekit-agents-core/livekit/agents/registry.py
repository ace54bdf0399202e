"""Resolve provider strings such as ``"deepgram/nova-3"`` to objects, through entry points.

A plugin distribution registers one factory per kind in the entry-point group
``livekit.agents.<kind>``; the entry-point name is the provider id::

    [project.entry-points."livekit.agents.stt"]
    deepgram = "livekit.plugins.deepgram._providers:stt"

The factory is declared with :func:`provider` and receives the parsed string::

    @provider(kind="stt", extra="deepgram")
    def stt(model: str | None, variant: str | None, **options):
        from .stt import STT            # the SDK is imported only now
        return STT(model=model or "nova-3", language=variant or "en-US", **options)

Resolution is lazy (only the named plugin is imported), never imports a dotted path taken
from a string, and fails with an error that says what to do.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, get_args

from .version import PLUGIN_API_VERSION
from .version import __version__ as _core_version

if TYPE_CHECKING:
    import importlib.metadata as importlib_metadata

__all__ = [
    "KINDS",
    "PLUGIN_API_VERSION",
    "InstalledProvider",
    "Kind",
    "PluginImportError",
    "PluginIncompatibleError",
    "ProviderError",
    "ProviderFactory",
    "ProviderString",
    "ProviderStringError",
    "UnknownProviderError",
    "available_providers",
    "parse",
    "provider",
    "refresh",
    "resolve",
]

Kind = Literal["stt", "llm", "tts", "vad", "turn_detector", "avatar", "mcp"]
KINDS: tuple[Kind, ...] = get_args(Kind)

#: Plugin API versions this core can load.
SUPPORTED_PLUGIN_APIS: frozenset[int] = frozenset({PLUGIN_API_VERSION})

_GROUP_PREFIX = "livekit.agents."

_KIND_TITLES: dict[str, str] = {
    "stt": "STT",
    "llm": "LLM",
    "tts": "TTS",
    "vad": "VAD",
    "turn_detector": "turn detector",
    "avatar": "avatar",
    "mcp": "MCP server",
}

_GRAMMAR: dict[str, str] = {
    "stt": '"provider/model[:language]", e.g. "deepgram/nova-3" or "deepgram/nova-3:fr"',
    "llm": '"provider/model", e.g. "openai/gpt-4o-mini" or "anthropic/claude-3-5-sonnet"',
    "tts": '"provider/model[:voice]", e.g. "cartesia/sonic-2" or "openai/tts-1:alloy"',
    "vad": 'a bare provider name, e.g. "silero"',
    "turn_detector": 'a bare provider name, e.g. "semantic"',
    "avatar": '"provider/avatar-id", e.g. "heygen/<avatar-id>"',
    "mcp": 'a bare server name, e.g. "filesystem"',
}

#: First-party provider ids -> the core extra that installs them. Kept in sync with the
#: ``[project.optional-dependencies]`` of livekit-agents (a test checks this).
_FIRST_PARTY_EXTRAS: dict[str, dict[str, str]] = {
    "stt": {"openai": "openai", "azure": "azure", "deepgram": "deepgram", "local": "local"},
    "llm": {"openai": "openai", "anthropic": "anthropic", "local": "local"},
    "tts": {"openai": "openai", "elevenlabs": "elevenlabs", "azure": "azure",
            "cartesia": "cartesia", "local": "piper", "piper": "piper"},
    "vad": {"silero": "silero"},
    "turn_detector": {"semantic": "turn-detector"},
    "avatar": {},
    "mcp": {},
}

_PROVIDER_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_TOKEN_RE = re.compile(r"^[^\s]+$")


class ProviderError(Exception):
    """Base class of every provider-resolution error."""


class ProviderStringError(ProviderError, ValueError):
    """A provider string does not follow the grammar of its kind."""


class UnknownProviderError(ProviderError, LookupError):
    """No installed plugin registers this provider id for this kind."""

    def __init__(self, message: str, *, kind: str, provider: str, installed: list[str]) -> None:
        super().__init__(message)
        self.kind = kind
        self.provider = provider
        self.installed = installed


class PluginIncompatibleError(ProviderError, RuntimeError):
    """The plugin targets a plugin API this version of livekit-agents does not support."""


class PluginImportError(ProviderError, ImportError):
    """The plugin, or a library it needs, could not be imported."""


@dataclass(frozen=True)
class ProviderString:
    """A parsed provider string: ``provider/model:variant``."""

    kind: str
    provider: str
    model: str | None = None
    variant: str | None = None

    def __str__(self) -> str:
        text = self.provider
        if self.model is not None:
            text += f"/{self.model}"
        if self.variant is not None:
            text += f":{self.variant}"
        return text


_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass
class ProviderFactory:
    """A plugin's factory, with what core needs to know before calling it."""

    func: Callable[..., Any]
    kind: str
    plugin_api: int = PLUGIN_API_VERSION
    extra: str | None = None
    description: str = ""
    models: tuple[str, ...] = ()

    def __call__(self, model: str | None, variant: str | None, **options: Any) -> Any:
        return self.func(model, variant, **options)


def provider(
    *,
    kind: str,
    plugin_api: int = PLUGIN_API_VERSION,
    extra: str | None = None,
    description: str = "",
    models: Iterable[str] = (),
) -> Callable[[Callable[..., Any]], ProviderFactory]:
    """Declare a provider factory for the entry point of a plugin.

    ``kind`` is one of :data:`KINDS`; ``plugin_api`` is the plugin API the factory was written
    for; ``extra`` is the core extra (or the plugin's own extra) that installs what the factory
    imports, so a missing library can be reported with the right ``pip install`` line.
    ``models`` lists well-known model ids, for documentation and ``plugins --check``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown provider kind {kind!r}; expected one of {', '.join(KINDS)}")

    def decorator(func: Callable[..., Any]) -> ProviderFactory:
        factory = ProviderFactory(
            func=func,
            kind=kind,
            plugin_api=plugin_api,
            extra=extra,
            description=description or (func.__doc__ or "").strip().split("\n")[0],
            models=tuple(models),
        )
        functools.update_wrapper(cast(Any, factory), func, updated=())
        return factory

    return decorator


def parse(kind: str, text: str) -> ProviderString:
    """Parse ``text`` by the grammar of ``kind``; raise :class:`ProviderStringError` if malformed."""
    _check_kind(kind)
    title = _KIND_TITLES[kind]
    grammar = _GRAMMAR[kind]

    def bad(reason: str) -> ProviderStringError:
        return ProviderStringError(
            f"invalid {title} provider string {text!r}: {reason}. Expected {grammar}."
        )

    if not isinstance(text, str):
        raise TypeError(f"a {title} provider string must be a str, got {type(text).__name__}")
    raw = text.strip()
    if not raw:
        raise bad("it is empty")
    if not _TOKEN_RE.match(raw):
        raise bad("it contains whitespace")

    if kind in ("vad", "turn_detector", "mcp"):
        if "/" in raw or ":" in raw:
            raise bad("this kind takes a bare name, without '/' or ':'")
        name = raw.lower()
        if not _PROVIDER_RE.match(name):
            raise bad("the name may use only letters, digits, '-', '_' and '.'")
        return ProviderString(kind=kind, provider=name)

    head, sep, rest = raw.partition("/")
    name = head.lower()
    if not name:
        raise bad("the provider name before '/' is missing")
    if ":" in name:
        raise bad("the provider name cannot contain ':'; write provider/model:variant")
    if not _PROVIDER_RE.match(name):
        raise bad(f"provider name {head!r} may use only letters, digits, '-', '_' and '.'")
    if not sep:
        return ProviderString(kind=kind, provider=name)
    if not rest:
        raise bad("the model after '/' is missing")

    if kind == "avatar":
        return ProviderString(kind=kind, provider=name, model=rest)

    model, colon, variant = rest.rpartition(":")
    if not colon:
        return ProviderString(kind=kind, provider=name, model=rest)
    if not model:
        raise bad("the model before ':' is missing")
    if not variant:
        label = {"stt": "language", "tts": "voice"}.get(kind, "variant")
        raise bad(f"the {label} after ':' is missing")
    return ProviderString(kind=kind, provider=name, model=model, variant=variant)


@dataclass(frozen=True)
class InstalledProvider:
    """One entry point of a provider group, described without importing it."""

    kind: str
    name: str
    target: str
    distribution: str | None
    version: str | None
    _entry_point: importlib_metadata.EntryPoint = field(repr=False, compare=False)
    #: Other distributions that register the same provider id (a conflict to report).
    conflicts: tuple[str, ...] = ()

    def load(self) -> ProviderFactory:
        """Import the entry point and check the factory it names."""
        return _load_factory(self)


def group_for(kind: str) -> str:
    """The entry-point group of ``kind``, e.g. ``livekit.agents.stt``."""
    _check_kind(kind)
    return _GROUP_PREFIX + kind


@functools.cache
def _installed(kind: str) -> dict[str, InstalledProvider]:
    import importlib.metadata as importlib_metadata

    found: dict[str, InstalledProvider] = {}
    for ep in importlib_metadata.entry_points(group=group_for(kind)):
        dist = getattr(ep, "dist", None)
        item = InstalledProvider(
            kind=kind,
            name=ep.name.lower(),
            target=ep.value,
            distribution=dist.metadata["Name"] if dist is not None else None,
            version=dist.version if dist is not None else None,
            _entry_point=ep,
        )
        previous = found.get(item.name)
        if previous is None:
            found[item.name] = item
        elif previous.distribution != item.distribution:
            found[item.name] = replace(
                previous, conflicts=(*previous.conflicts, f"{item.distribution} {item.version}")
            )
    return found


def available_providers(kind: str) -> list[InstalledProvider]:
    """Installed providers of ``kind``, sorted by name. Nothing is imported."""
    _check_kind(kind)
    return sorted(_installed(kind).values(), key=lambda p: p.name)


def refresh() -> None:
    """Forget cached entry points (after installing or removing a plugin at runtime)."""
    _installed.cache_clear()


def resolve(kind: str, spec: Any, **options: Any) -> Any:
    """Turn a provider string into a provider object; objects pass through unchanged.

    ``options`` are passed to the plugin's factory as keyword arguments.
    """
    if not isinstance(spec, str):
        return spec
    ref = parse(kind, spec)
    installed = _installed(kind).get(ref.provider)
    if installed is None:
        raise _unknown_provider(ref)

    factory = installed.load()
    try:
        obj = factory(ref.model, ref.variant, **options)
    except ModuleNotFoundError as e:
        raise PluginImportError(
            f"{_KIND_TITLES[kind]} provider {ref.provider!r} ({installed.distribution}) needs the "
            f"module {e.name!r}, which is not installed. {_install_line(kind, ref.provider, factory.extra, installed)}"
        ) from e
    _check_result(kind, ref, obj, installed)
    return obj


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown provider kind {kind!r}; expected one of {', '.join(KINDS)}")


def _unknown_provider(ref: ProviderString) -> UnknownProviderError:
    kind = ref.kind
    title = _KIND_TITLES[kind]
    names = [p.name for p in available_providers(kind)]
    listed = ", ".join(repr(n) for n in names) if names else "none"
    message = f"unknown {title} provider {ref.provider!r} in {str(ref)!r}. Installed {title} providers: {listed}."
    extra = _FIRST_PARTY_EXTRAS[kind].get(ref.provider)
    if extra is not None:
        message += f' To use it: pip install "livekit-agents[{extra}]"'
    else:
        message += (
            " Install the plugin that provides it, then check with: python -m livekit.agents plugins"
        )
    return UnknownProviderError(message, kind=kind, provider=ref.provider, installed=names)


def _install_line(
    kind: str, provider_id: str, extra: str | None, installed: InstalledProvider
) -> str:
    extra = extra or _FIRST_PARTY_EXTRAS[kind].get(provider_id)
    if extra is not None and installed.distribution and installed.distribution.startswith(
        "livekit-plugins-"
    ):
        return f'Install it with: pip install "livekit-agents[{extra}]"'
    if extra is not None and installed.distribution:
        return f'Install it with: pip install "{installed.distribution}[{extra}]"'
    if installed.distribution:
        return f"Reinstall the plugin: pip install --force-reinstall {installed.distribution}"
    return "Reinstall the plugin that provides it."


def _load_factory(installed: InstalledProvider) -> ProviderFactory:
    kind = installed.kind
    title = _KIND_TITLES[kind]
    who = f"{installed.distribution} {installed.version}" if installed.distribution else "a plugin"
    if installed.conflicts:
        raise PluginImportError(
            f"{title} provider {installed.name!r} is registered by more than one installed "
            f"distribution ({who}, {', '.join(installed.conflicts)}); uninstall all but one"
        )
    try:
        target = installed._entry_point.load()
    except ModuleNotFoundError as e:
        raise PluginImportError(
            f"{title} provider {installed.name!r} from {who} failed to import: module {e.name!r} "
            f"is missing. {_install_line(kind, installed.name, None, installed)}"
        ) from e
    except Exception as e:
        raise PluginImportError(
            f"{title} provider {installed.name!r} from {who} failed to import "
            f"({installed.target}): {type(e).__name__}: {e}"
        ) from e

    api = getattr(target, "plugin_api", None)
    if not isinstance(target, ProviderFactory) or api is None:
        raise PluginIncompatibleError(
            f"{title} provider {installed.name!r} from {who} does not declare which plugin API it "
            f"targets; its entry point must name a factory made with "
            f"livekit.agents.registry.provider(). Upgrade the plugin."
        )
    if target.kind != kind:
        raise PluginIncompatibleError(
            f"{title} provider {installed.name!r} from {who} registers a {target.kind!r} factory "
            f"in the {group_for(kind)!r} entry-point group; the plugin is misconfigured."
        )
    if api not in SUPPORTED_PLUGIN_APIS:
        if api > PLUGIN_API_VERSION:
            advice = "upgrade livekit-agents (pip install -U livekit-agents)"
        else:
            advice = f"upgrade the plugin (pip install -U {installed.distribution or installed.name})"
        raise PluginIncompatibleError(
            f"{who} targets plugin API {api}, but livekit-agents {_core_version} supports plugin "
            f"API {', '.join(str(v) for v in sorted(SUPPORTED_PLUGIN_APIS))}: {advice}"
        )
    return target


def _check_result(kind: str, ref: ProviderString, obj: Any, installed: InstalledProvider) -> None:
    base = _base_class(kind)
    if base is not None and not isinstance(obj, base):
        raise PluginIncompatibleError(
            f"{_KIND_TITLES[kind]} provider {ref.provider!r} ({installed.distribution}) returned "
            f"{type(obj).__name__}, which is not a {base.__module__}.{base.__qualname__}"
        )


def _base_class(kind: str) -> type | None:
    """The base class a resolved object of ``kind`` must derive from (imported lazily)."""
    if kind == "stt":
        from .stt import STT

        return STT
    if kind == "llm":
        from .llm import LLM

        return LLM
    if kind == "tts":
        from .tts import TTS

        return TTS
    if kind == "vad":
        from .vad import VAD

        return VAD
    if kind == "turn_detector":
        from .turn import TurnDetector

        return TurnDetector
    if kind == "avatar":
        from .avatar import Avatar

        return Avatar
    if kind == "mcp":
        from .mcp import MCPServer

        return MCPServer
    return None
