"""What the console shows: the conversation, tool calls, agent state and per-turn latency.

In a terminal the output is styled with rich and a status line shows the live transcript and the
agent state; when stdout is not a terminal (pipes, CI) it is plain lines, one event per line.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..llm import AgentHandoff, ChatMessage

if TYPE_CHECKING:
    from ..voice.agent_session import AgentSession

__all__ = ["ConsoleUI", "TranscriptWriter"]


class TranscriptWriter:
    """Writes session events as JSON lines (one object per event, with a ``type``)."""

    def __init__(self, path: Path) -> None:
        self._file: TextIO = path.open("w", encoding="utf-8")

    def write(self, kind: str, data: dict[str, Any]) -> None:
        record = {"type": kind, "time": round(time.time(), 3), **data}
        self._file.write(json.dumps(record, default=_json_default) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _json_default(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: v for k, v in asdict(value).items() if not k.startswith("_")}
    if hasattr(value, "value"):
        return value.value
    return repr(value)


class ConsoleUI:
    def __init__(self, *, show_user_lines: bool = True, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self._tty = self._out.isatty()
        self._show_user_lines = show_user_lines
        self._rich: Any = None
        self._live: Any = None
        if self._tty:
            from rich.console import Console

            self._rich = Console(file=self._out, highlight=False)
        self.user_turns = 0
        self.agent_turns = 0
        self.last_agent_turn_after_user = False
        self.user_texts: list[str] = []
        self.agent_texts: list[str] = []
        self._turn_metrics: dict[str, float] = {}
        self._state = "initializing"
        self._interim = ""

    # -- plumbing ---------------------------------------------------------------------------

    def _print(self, text: str, style: str | None = None) -> None:
        if self._rich is not None:
            self._rich.print(text, style=style, markup=False)
        else:
            print(text, file=self._out, flush=True)

    def _status(self) -> None:
        if self._rich is None:
            return
        from rich.text import Text

        line = Text.assemble(("● ", "dim"), (self._state, "cyan"))
        if self._interim:
            line.append(f"   you: {self._interim}", style="italic dim")
        if self._live is None:
            from rich.live import Live

            self._live = Live(line, console=self._rich, transient=True, auto_refresh=False)
            self._live.start()
        self._live.update(line, refresh=True)

    def bind(self, session: AgentSession[Any], transcript: TranscriptWriter | None) -> None:
        def record(kind: str, **data: Any) -> None:
            if transcript is not None:
                transcript.write(kind, data)

        @session.on("agent_state_changed")
        def _state(ev: Any) -> None:
            self._state = ev.new_state
            record("agent_state_changed", old_state=ev.old_state, new_state=ev.new_state)
            self._status()

        @session.on("user_state_changed")
        def _user_state(ev: Any) -> None:
            record("user_state_changed", old_state=ev.old_state, new_state=ev.new_state)

        @session.on("user_input_transcribed")
        def _transcribed(ev: Any) -> None:
            record("user_input_transcribed", transcript=ev.transcript, is_final=ev.is_final,
                   language=ev.language)
            self._interim = "" if ev.is_final else ev.transcript
            self._status()

        @session.on("conversation_item_added")
        def _item(ev: Any) -> None:
            item = ev.item
            if isinstance(item, AgentHandoff):
                record("agent_handoff", old_agent=item.old_agent_id, new_agent=item.new_agent_id)
                self._print(f"handoff: {item.old_agent_id} -> {item.new_agent_id}", "magenta")
                return
            if not isinstance(item, ChatMessage):
                return
            text = item.text_content or ""
            record("conversation_item_added", role=item.role, text=text, interrupted=item.interrupted,
                   metrics=item.metrics)
            if item.role == "user":
                self.user_turns += 1
                self.user_texts.append(text)
                self.last_agent_turn_after_user = False
                self._turn_metrics = {}
                self._interim = ""
                if self._show_user_lines:
                    self._print(f"you: {text}", "bold")
            elif item.role == "assistant":
                self.agent_turns += 1
                self.agent_texts.append(text)
                self.last_agent_turn_after_user = True
                flag = " [interrupted]" if item.interrupted else ""
                self._print(f"agent: {text}{flag}", "green")
                self._print_latency()

        @session.on("function_tools_executed")
        def _tools(ev: Any) -> None:
            for call, out in ev.zipped():
                record("function_call", name=call.name, arguments=call.arguments,
                       output=out.output, is_error=out.is_error)
                status = "error" if out.is_error else "->"
                self._print(f"tool: {call.name}({call.arguments}) {status} {_short(out.output)}", "yellow")

        @session.on("metrics_collected")
        def _metrics(ev: Any) -> None:
            m = ev.metrics
            kind = getattr(m, "type", "")
            if kind == "eou_metrics":
                self._turn_metrics["eou"] = m.end_of_utterance_delay
            elif kind == "llm_metrics" and m.ttft >= 0 and "llm_ttft" not in self._turn_metrics:
                self._turn_metrics["llm_ttft"] = m.ttft
            elif kind == "tts_metrics" and m.ttfb >= 0 and "tts_ttfb" not in self._turn_metrics:
                self._turn_metrics["tts_ttfb"] = m.ttfb
            record("metrics", **{k: v for k, v in _as_dict(m).items() if k != "type"}, metrics_type=kind)

        @session.on("error")
        def _error(ev: Any) -> None:
            err = getattr(ev.error, "error", ev.error)
            recoverable = getattr(ev.error, "recoverable", False)
            record("error", error=str(err), recoverable=recoverable)
            if not recoverable:
                self.error(f"{type(ev.source).__name__}: {err}")

        @session.on("close")
        def _close(ev: Any) -> None:
            record("close", reason=getattr(ev.reason, "value", str(ev.reason)))

    def _print_latency(self) -> None:
        labels = (("eou", "end of utterance"), ("llm_ttft", "LLM TTFT"), ("tts_ttfb", "TTS TTFB"))
        parts = [f"{label} {self._turn_metrics[key]:.2f}s" for key, label in labels if key in self._turn_metrics]
        if parts:
            self._print("  latency: " + " · ".join(parts), "dim")
        self._turn_metrics = {}

    # -- messages -----------------------------------------------------------------------------

    def info(self, text: str) -> None:
        self._print(text, "dim")

    def error(self, text: str) -> None:
        if self._rich is not None:
            self._rich.print(f"error: {text}", style="bold red", markup=False)
        else:
            print(f"error: {text}", file=sys.stderr, flush=True)

    def prompt(self) -> None:
        if self._tty:
            self._out.write("you> ")
            self._out.flush()

    def user_typed(self, text: str) -> None:
        if not self._tty:
            self._print(f"you: {text}")

    def summary(self) -> None:
        self._print("")
        self._print(f"you said: {' '.join(self.user_texts) or '(nothing recognized)'}", "bold")
        self._print(f"agent said: {' '.join(self.agent_texts) or '(no reply)'}", "green")

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_dict(value: Any) -> dict[str, Any]:
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else dict(vars(value))
