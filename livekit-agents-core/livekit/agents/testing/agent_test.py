"""``AgentTest``: unittest-style test cases for agents, collected by pytest.

    class MyAgentTest(AgentTest):
        agent = MyAgent
        llm = FakeLLM(rules={"weather": ...})     # or "openai/gpt-4o-mini" (skipped without a key)

        async def test_greeting(self):
            response = await self.say("Hello")
            self.assertIn("hello", response.lower())

Each test gets a fresh text-only session. ``llm`` may be an LLM object (copied per test when it
is a FakeLLM), a provider string, or a zero-argument callable returning an LLM.

Once a turn has run, every failing assertion (``self.assert*``, ``self.fail``) ends with the last
turn's events and the conversation so far.
"""

from __future__ import annotations

import copy
import json
import unittest
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, overload

from .._exceptions import MissingCredentialsError
from ..registry import PluginImportError, UnknownProviderError

if TYPE_CHECKING:
    from ..llm import LLM
    from ..voice.agent import Agent
    from ..voice.agent_session import AgentSession
    from ..voice.run_result import RunEvent, RunResult

__all__ = ["AgentTest"]

# Like unittest's own assert methods, these helpers are left out of failure tracebacks (by
# unittest and by pytest), so a failure points at the test's line and shows its message once.
__unittest = True


class _Described(str):
    """A failure message that already ends with the conversation (so it is not added twice)."""


class AgentTest(unittest.IsolatedAsyncioTestCase):
    #: the Agent class under test (or override :meth:`create_agent`)
    agent: ClassVar[type[Agent] | None] = None
    #: the LLM: an object, a provider string, or a factory; default: an echoing fake
    llm: ClassVar[Any] = None
    #: userdata given to the session
    userdata: ClassVar[Any] = None

    session: AgentSession[Any]

    def create_agent(self) -> Agent:
        if self.agent is None:
            raise NotImplementedError(
                f"{type(self).__name__} must set `agent = MyAgent` or override create_agent()"
            )
        factory: Callable[[], Agent] = self.agent
        return factory()

    def create_llm(self) -> LLM:
        spec = type(self).llm
        if spec is None:
            from .fake_llm import FakeLLM

            return FakeLLM(echo=True)
        if isinstance(spec, str):
            return _resolve_llm(spec)
        if isinstance(spec, type) or (callable(spec) and not hasattr(spec, "chat")):
            return spec()  # type: ignore[no-any-return]
        from .fake_llm import FakeLLM

        # scripted fakes are consumed by the run: give each test its own copy
        return copy.deepcopy(spec) if isinstance(spec, FakeLLM) else spec  # type: ignore[no-any-return]

    async def asyncSetUp(self) -> None:
        from ..types import NOT_GIVEN
        from ..voice.agent_session import AgentSession

        self.session = AgentSession(
            llm=self.create_llm(),
            userdata=self.userdata if self.userdata is not None else NOT_GIVEN,
        )
        await self.session.start(self.create_agent())
        self._results: list[RunResult] = []

    async def asyncTearDown(self) -> None:
        await self.session.aclose()

    # -- driving --------------------------------------------------------------------------

    async def say(self, text: str) -> str:
        """One user turn, typed; returns the agent's reply text (all its messages, joined)."""
        result = await self.session.run(user_input=text)
        self._results.append(result)
        from ..voice.run_result import ChatMessageEvent

        return " ".join(
            ev.item.text_content or ""
            for ev in result.events
            if isinstance(ev, ChatMessageEvent) and ev.item.role == "assistant"
        ).strip()

    @property
    def result(self) -> RunResult:
        """The result of the last :meth:`say`."""
        if not self._results:
            raise AssertionError("no turn yet: call `await self.say(...)` first")
        return self._results[-1]

    @property
    def events(self) -> list[RunEvent]:
        """The events of the last turn."""
        return self.result.events

    # -- failure messages -----------------------------------------------------------------

    @overload
    def _with_conversation(self, message: str) -> str: ...
    @overload
    def _with_conversation(self, message: str | None) -> str | None: ...

    def _with_conversation(self, message: str | None) -> str | None:
        """``message`` followed by the last turn and the conversation so far, once a turn ran."""
        results: list[RunResult] = getattr(self, "_results", [])
        if not results or isinstance(message, _Described):
            return message
        described = results[-1]._describe()
        return _Described(described if message is None else f"{message}\n{described}")

    def _formatMessage(self, msg: str | None, standardMsg: str) -> str:
        # every unittest assert* builds its failure message here, then raises or calls fail()
        return self._with_conversation(super()._formatMessage(msg, standardMsg))

    def fail(self, msg: Any = None) -> NoReturn:
        # from assert*, ``msg`` is already described; a direct self.fail(...) is described here
        text = msg if msg is None or isinstance(msg, str) else str(msg)
        raise self.failureException(self._with_conversation(text))

    # -- assertions -----------------------------------------------------------------------

    def _calls(self) -> list[tuple[str, dict[str, Any]]]:
        from ..voice.run_result import FunctionCallEvent

        out = []
        for ev in self.result.events:
            if isinstance(ev, FunctionCallEvent):
                try:
                    args = json.loads(ev.item.arguments or "{}")
                except ValueError:
                    args = {}
                out.append((ev.item.name, args if isinstance(args, dict) else {}))
        return out

    def assertToolCalled(self, name: str, **expected_args: Any) -> None:
        """The last turn called ``name`` (with at least these argument values)."""
        calls = self._calls()
        for called, args in calls:
            if called == name and all(args.get(k) == v for k, v in expected_args.items()):
                return
        wanted = f"{name}({', '.join(f'{k}={v!r}' for k, v in expected_args.items())})"
        seen = ", ".join(f"{n}({json.dumps(a)})" for n, a in calls) or "no tool calls"
        self.fail(f"expected a call to {wanted}; got {seen}")

    def assertToolNotCalled(self, name: str) -> None:
        for called, args in self._calls():
            if called == name:
                self.fail(f"expected no call to {name}, got {name}({json.dumps(args)})")

    def assertHandoff(self, to: type[Agent] | None = None) -> None:
        """The last turn handed off (to an agent of class ``to``)."""
        from ..voice.run_result import AgentHandoffEvent

        handoffs = [ev for ev in self.result.events if isinstance(ev, AgentHandoffEvent)]
        for ev in handoffs:
            if to is None or isinstance(ev.new_agent, to):
                return
        got = ", ".join(type(ev.new_agent).__name__ for ev in handoffs) or "no handoff"
        target = to.__name__ if to else "another agent"
        self.fail(f"expected a handoff to {target}; got {got}")

    async def assertJudged(self, intent: str, *, llm: LLM | Callable[[], LLM] | None = None) -> None:
        """An LLM judges that the last reply fulfils ``intent`` (uses the test's LLM by default)."""
        judge = llm() if callable(llm) and not hasattr(llm, "chat") else (llm or self.session.llm)
        msg = self.result.expect.contains_message(role="assistant")
        await msg.is_message(role="assistant").judge(judge, intent=intent)  # type: ignore[arg-type]


def _resolve_llm(spec: str) -> LLM:
    """Resolve ``AgentTest.llm = "provider/model"``, skipping only when the environment lacks it.

    Skipped: the provider's API key is not set, or the provider is a first-party one whose plugin
    (or the library it needs) is not installed. Anything else (a typo'd or unknown provider id, a
    malformed string, a broken or incompatible plugin) fails with the registry's error, which
    names the string and lists the installed providers, so a typo cannot silently disable a test.
    """
    from .. import registry

    try:
        return registry.resolve("llm", spec)  # type: ignore[no-any-return]
    except MissingCredentialsError as e:
        raise unittest.SkipTest(f"{spec}: {e}") from None
    except (UnknownProviderError, PluginImportError) as e:
        if not _first_party_missing(spec, e):
            raise
        raise unittest.SkipTest(f"{spec} is not installed: {e}") from None


def _first_party_missing(spec: str, error: UnknownProviderError | PluginImportError) -> bool:
    from .. import registry

    if isinstance(error, UnknownProviderError):
        provider_id = error.provider
    elif isinstance(error.__cause__, ModuleNotFoundError):
        # registered, but the library it needs is missing: the extra is not installed
        provider_id = registry.parse("llm", spec).provider
    else:
        return False
    return provider_id in registry._FIRST_PARTY_EXTRAS.get("llm", {})
