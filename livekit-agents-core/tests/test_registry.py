"""Provider resolution by string: grammar, laziness, plugin API checks and error messages."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from livekit.agents import registry
from livekit.agents.registry import (
    PluginImportError,
    PluginIncompatibleError,
    ProviderStringError,
    UnknownProviderError,
)

FACTORY = '''
from livekit.agents.registry import provider

@provider(kind="{kind}", extra="{extra}", plugin_api={api})
def {kind}(model, variant, **options):
    from livekit.agents.testing.fake_llm import FakeLLM
    from livekit.agents.testing.fake_stt import FakeSTT
    obj = {{"llm": FakeLLM, "stt": FakeSTT}}["{kind}"]()
    obj.parsed = (model, variant, options)
    return obj
'''


def _plugin(make_dist: Callable[..., Path], name: str, kind: str = "llm", api: int = 1, body: str | None = None) -> None:
    module = f"lkt_{name.replace('-', '_')}"
    make_dist(
        f"livekit-plugins-{name}",
        entry_points={f"livekit.agents.{kind}": {name: f"{module}:{kind}"}},
        modules={f"{module}.py": body or FACTORY.format(kind=kind, extra=name, api=api)},
    )


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("stt", "deepgram/nova-3", ("deepgram", "nova-3", None)),
        ("stt", "deepgram/nova-3:fr", ("deepgram", "nova-3", "fr")),
        ("tts", "cartesia/sonic-2:abc-123", ("cartesia", "sonic-2", "abc-123")),
        ("llm", "openai/gpt-4o-mini", ("openai", "gpt-4o-mini", None)),
        ("llm", "openai/llama3.2:3b", ("openai", "llama3.2", "3b")),
        ("llm", "OpenAI/gpt-4o", ("openai", "gpt-4o", None)),
        ("llm", "openrouter/meta/llama-3", ("openrouter", "meta/llama-3", None)),
        ("llm", "fake", ("fake", None, None)),
        ("vad", "silero", ("silero", None, None)),
        ("turn_detector", "semantic", ("semantic", None, None)),
        ("mcp", "filesystem", ("filesystem", None, None)),
        ("avatar", "heygen/avatar:with:colons", ("heygen", "avatar:with:colons", None)),
    ],
)
def test_grammar_accepts(kind: str, text: str, expected: tuple[str, str | None, str | None]) -> None:
    ref = registry.parse(kind, text)
    assert (ref.provider, ref.model, ref.variant) == expected


@pytest.mark.parametrize(
    ("kind", "text", "fragment"),
    [
        ("stt", "", "it is empty"),
        ("stt", "deepgram/", "model after '/' is missing"),
        ("stt", "/nova-3", "provider name before '/' is missing"),
        ("stt", "deepgram/nova-3:", "language after ':' is missing"),
        ("tts", "cartesia/sonic-2:", "voice after ':' is missing"),
        ("tts", "cartesia/:voice", "model before ':' is missing"),
        ("llm", "open ai/gpt", "whitespace"),
        ("llm", "open$ai/gpt", "may use only letters"),
        ("vad", "silero/v5", "bare name"),
        ("turn_detector", "semantic:en", "bare name"),
    ],
)
def test_grammar_rejects_with_the_grammar(kind: str, text: str, fragment: str) -> None:
    with pytest.raises(ProviderStringError) as exc:
        registry.parse(kind, text)
    message = str(exc.value)
    assert fragment in message
    assert "Expected" in message  # the grammar is shown
    assert isinstance(exc.value, ValueError)


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown provider kind 'speech'"):
        registry.parse("speech", "x/y")


def test_objects_pass_through() -> None:
    obj = object()
    assert registry.resolve("llm", obj) is obj


def test_fake_providers_resolve_through_entry_points() -> None:
    from livekit.agents.testing import FakeLLM, FakeSTT, FakeTTS, FakeTurnDetector, FakeVAD

    assert isinstance(registry.resolve("llm", "fake/scripted"), FakeLLM)
    assert isinstance(registry.resolve("stt", "fake/scripted:fr"), FakeSTT)
    assert isinstance(registry.resolve("tts", "fake/tone:bright"), FakeTTS)
    assert registry.resolve("tts", "fake/tone:bright").voice == "bright"
    assert isinstance(registry.resolve("vad", "fake"), FakeVAD)
    assert isinstance(registry.resolve("turn_detector", "fake"), FakeTurnDetector)
    echo = registry.resolve("llm", "fake/echo")
    assert echo.model == "echo"


def test_factory_receives_model_variant_and_options(make_dist: Callable[..., Path]) -> None:
    _plugin(make_dist, "acme", kind="llm")
    llm = registry.resolve("llm", "acme/big:tag", temperature=0.2)
    assert llm.parsed == ("big", "tag", {"temperature": 0.2})


def test_unknown_provider_lists_installed_ones(make_dist: Callable[..., Path]) -> None:
    _plugin(make_dist, "acme", kind="llm")
    with pytest.raises(UnknownProviderError) as exc:
        registry.resolve("llm", "nosuch/model")
    message = str(exc.value)
    assert "unknown LLM provider 'nosuch'" in message
    assert "'acme'" in message and "'fake'" in message
    assert "python -m livekit.agents plugins" in message
    assert exc.value.installed == sorted(exc.value.installed)


def test_unknown_first_party_provider_gives_the_pip_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry._FIRST_PARTY_EXTRAS["stt"], "deepgram-test", "deepgram")
    with pytest.raises(UnknownProviderError, match=r'pip install "livekit-agents\[deepgram\]"'):
        registry.resolve("stt", "deepgram-test/nova-3")


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    return tomllib.loads(path.read_text())


def test_first_party_hints_match_core_extras() -> None:
    """Every first-party plugin has a core extra, and every provider it registers gets the pip
    hint that installs it (and no hint names an extra that does not exist)."""
    root = Path(__file__).parents[2]
    extras = _load_toml(root / "livekit-agents-core" / "pyproject.toml")["project"]["optional-dependencies"]
    expected: dict[str, dict[str, str]] = {kind: {} for kind in registry._FIRST_PARTY_EXTRAS}
    plugins = sorted((root / "plugins").glob("livekit-plugins-*/pyproject.toml"))
    assert plugins
    for pyproject in plugins:
        project = _load_toml(pyproject)["project"]
        dist = project["name"]
        extra = dist.removeprefix("livekit-plugins-")
        assert extra in extras, f"core has no extra for {dist}: add {extra} = [\"{dist}>=1.0,<2\"]"
        assert any(req.startswith(dist) for req in extras[extra]), f"extra {extra!r} does not install {dist}"
        for group, points in project.get("entry-points", {}).items():
            kind = group.removeprefix("livekit.agents.")
            if kind in expected:
                for provider_id in points:
                    expected[kind][provider_id] = extra
    assert expected == registry._FIRST_PARTY_EXTRAS
    for kind, names in registry._FIRST_PARTY_EXTRAS.items():
        for provider_id, extra in names.items():
            assert extra in extras, f"{kind} provider {provider_id!r} hints at missing extra {extra!r}"


def test_resolution_is_lazy(make_dist: Callable[..., Path]) -> None:
    _plugin(make_dist, "alpha", kind="llm")
    _plugin(make_dist, "beta", kind="llm")
    sys.modules.pop("lkt_alpha", None)
    sys.modules.pop("lkt_beta", None)
    registry.available_providers("llm")  # listing imports nothing
    assert "lkt_alpha" not in sys.modules and "lkt_beta" not in sys.modules
    registry.resolve("llm", "alpha/x")
    assert "lkt_alpha" in sys.modules
    assert "lkt_beta" not in sys.modules


def test_incompatible_plugin_api_is_refused(make_dist: Callable[..., Path]) -> None:
    _plugin(make_dist, "future", kind="llm", api=99)
    with pytest.raises(PluginIncompatibleError) as exc:
        registry.resolve("llm", "future/x")
    message = str(exc.value)
    assert "livekit-plugins-future 1.0.0 targets plugin API 99" in message
    assert "pip install -U livekit-agents" in message


def test_old_plugin_api_asks_to_upgrade_the_plugin(make_dist: Callable[..., Path]) -> None:
    _plugin(make_dist, "ancient", kind="llm", api=0)
    with pytest.raises(PluginIncompatibleError, match="pip install -U livekit-plugins-ancient"):
        registry.resolve("llm", "ancient/x")


def test_undeclared_factory_is_refused(make_dist: Callable[..., Path]) -> None:
    _plugin(make_dist, "bare", kind="llm", body="def llm(model, variant, **o):\n    return object()\n")
    with pytest.raises(PluginIncompatibleError, match="does not declare which plugin API"):
        registry.resolve("llm", "bare/x")


def test_wrong_kind_factory_is_refused(make_dist: Callable[..., Path]) -> None:
    body = FACTORY.format(kind="stt", extra="mixed", api=1).replace("def stt(", "def llm(")
    _plugin(make_dist, "mixed", kind="llm", body=body)
    with pytest.raises(PluginIncompatibleError, match="registers a 'stt' factory"):
        registry.resolve("llm", "mixed/x")


def test_factory_must_return_the_right_base_class(make_dist: Callable[..., Path]) -> None:
    body = (
        "from livekit.agents.registry import provider\n"
        "@provider(kind='llm')\n"
        "def llm(model, variant, **o):\n"
        "    return 'not an llm'\n"
    )
    _plugin(make_dist, "liar", kind="llm", body=body)
    with pytest.raises(PluginIncompatibleError, match="returned str, which is not a livekit.agents.llm"):
        registry.resolve("llm", "liar/x")


def test_missing_sdk_names_the_extra(make_dist: Callable[..., Path]) -> None:
    body = (
        "from livekit.agents.registry import provider\n"
        "@provider(kind='llm', extra='acme-sdk')\n"
        "def llm(model, variant, **o):\n"
        "    import acme_sdk_that_is_not_installed\n"
    )
    _plugin(make_dist, "needsdk", kind="llm", body=body)
    with pytest.raises(PluginImportError) as exc:
        registry.resolve("llm", "needsdk/x")
    message = str(exc.value)
    assert "'acme_sdk_that_is_not_installed'" in message
    assert 'pip install "livekit-agents[acme-sdk]"' in message


def test_missing_plugin_module_is_reported(make_dist: Callable[..., Path]) -> None:
    make_dist("livekit-plugins-broken", entry_points={"livekit.agents.llm": {"broken": "lkt_missing_module:llm"}})
    with pytest.raises(PluginImportError, match="failed to import: module 'lkt_missing_module' is missing"):
        registry.resolve("llm", "broken/x")


def test_plugin_raising_at_import_is_reported(make_dist: Callable[..., Path]) -> None:
    _plugin(make_dist, "explodes", kind="llm", body="raise RuntimeError('boom at import')\n")
    with pytest.raises(PluginImportError, match="RuntimeError: boom at import"):
        registry.resolve("llm", "explodes/x")


def test_two_distributions_claiming_one_provider_conflict(make_dist: Callable[..., Path]) -> None:
    _plugin(make_dist, "dup", kind="llm")
    make_dist("other-dup-dist", entry_points={"livekit.agents.llm": {"dup": "lkt_dup:llm"}})
    with pytest.raises(PluginImportError, match="registered by more than one installed distribution"):
        registry.resolve("llm", "dup/x")


def test_never_imports_dotted_paths_from_strings() -> None:
    with pytest.raises((ProviderStringError, UnknownProviderError)):
        registry.resolve("llm", "os.path/join")
    assert "os.path" in sys.modules  # (already imported by Python itself; nothing new was tried)
    with pytest.raises(UnknownProviderError):
        registry.resolve("llm", "livekit.agents.testing.fake_llm/FakeLLM")


def test_session_and_agent_resolve_at_construction() -> None:
    from livekit.agents import Agent, AgentSession

    with pytest.raises(UnknownProviderError):
        AgentSession(llm="nosuchvendor/model")
    with pytest.raises(ProviderStringError):
        AgentSession(tts="cartesia/")
    with pytest.raises(UnknownProviderError):
        Agent(instructions="x", stt="nosuchvendor/model")
