"""``console``: run the agent in this terminal, with no LiveKit server.

Three ways to talk to it:

- **text** (``--text``, or when no audio device exists): type lines, read replies and tool calls.
  STT and TTS are bypassed; the LLM, tools, handoffs and events all run.
- **audio**: microphone in, speakers out (sounddevice, imported only here).
- **file** (``--input question.wav``): the WAV goes through the whole voice pipeline in real time
  (VAD, STT, turn detection, LLM, TTS); ``--output`` gets the agent's speech as heard and
  ``--transcript`` the conversation events as JSON lines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..log import logger
from ..utils.aio import cancel_and_wait
from ..worker._console_room import ConsoleRoom
from ..worker.job import JobContext, JobProcess
from ._console_io import set_console_io
from ._console_ui import ConsoleUI, TranscriptWriter

if TYPE_CHECKING:
    from livekit import rtc

    from ..voice.agent_session import AgentSession
    from ..worker.options import WorkerOptions

__all__ = ["ConsoleSession", "run_console"]

_FRAME_MS = 20


def run_console(opts: WorkerOptions, args: argparse.Namespace) -> int:
    if args.list_devices:
        return _list_devices()
    mode = "file" if args.input else "text" if args.text else "audio"
    if mode == "audio" and not _has_audio_devices():
        print("no audio device found: using text mode (type your messages)", file=sys.stderr)
        mode = "text"
    if args.output and mode != "file":
        print("--output needs --input (file mode)", file=sys.stderr)
        return 2
    if args.input is not None and not args.input.is_file():
        print(f"--input: {args.input} does not exist", file=sys.stderr)
        return 2
    console = ConsoleSession(
        mode=mode,
        input_path=args.input,
        output_path=args.output,
        transcript_path=args.transcript,
        max_wait=args.max_wait,
        input_device=args.input_device,
        output_device=args.output_device,
    )
    try:
        return asyncio.run(console.main(opts))
    except KeyboardInterrupt:
        return 130


class ConsoleSession:
    """Owns the console I/O of one run; the session attaches to it in ``session.start()``."""

    def __init__(
        self,
        *,
        mode: str,
        input_path: Path | None = None,
        output_path: Path | None = None,
        transcript_path: Path | None = None,
        max_wait: float = 60.0,
        input_device: str | None = None,
        output_device: str | None = None,
        ui: ConsoleUI | None = None,
    ) -> None:
        self.mode = mode
        self.input_path = input_path
        self.output_path = output_path
        self.transcript_path = transcript_path
        self.max_wait = max_wait
        self.input_device = input_device
        self.output_device = output_device
        self.ui = ui or ConsoleUI(show_user_lines=mode != "text")
        self.session: AgentSession[Any] | None = None
        self._attached = asyncio.Event() if _in_loop() else None
        self._played: list[rtc.AudioFrame] = []
        self._transcript: TranscriptWriter | None = None
        self._audio_io: Any = None

    # -- called by AgentSession.start -------------------------------------------------------

    async def attach(self, session: AgentSession[Any]) -> None:
        if self.session is not None:
            logger.warning("console supports one session; the second one runs without console I/O")
            return
        self.session = session
        if self.transcript_path is not None:
            self._transcript = TranscriptWriter(self.transcript_path)
        self.ui.bind(session, self._transcript)
        if self.mode == "text":
            session.input.audio = None
            session.output.audio = None
        elif self.mode == "file":
            from ..voice.io import QueueAudioInput, SimulatedAudioOutput

            session.input.audio = QueueAudioInput()
            session.output.audio = SimulatedAudioOutput(on_played=self._played.extend)
        else:
            from ._audio_devices import DeviceAudio

            self._audio_io = DeviceAudio(input_device=self.input_device, output_device=self.output_device)
            session.input.audio = self._audio_io.input
            session.output.audio = self._audio_io.output
            self._audio_io.start()
        if self._attached is not None:
            self._attached.set()

    def background_sink(self) -> Any:
        """Where background audio goes in audio mode (the speakers), else None."""
        return self._audio_io.output if self._audio_io is not None else None

    # -- main flow ----------------------------------------------------------------------------

    async def main(self, opts: WorkerOptions) -> int:
        self._attached = asyncio.Event()
        loop = asyncio.get_running_loop()
        main_task = asyncio.current_task()
        assert main_task is not None
        interrupted = False

        def on_sigint() -> None:
            nonlocal interrupted
            interrupted = True
            main_task.cancel()

        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, on_sigint)

        proc = JobProcess()
        if opts.prewarm_fnc is not None:
            opts.prewarm_fnc(proc)
        ctx = JobContext(proc=proc, job=_console_job(), room=ConsoleRoom(), fake=True)
        ctx._enter()
        set_console_io(self)
        entry = asyncio.create_task(_run_entrypoint(opts, ctx), name="entrypoint")
        code = 0
        try:
            await self._wait_attached(entry)
            if self.mode == "text":
                await self._text_loop()
            elif self.mode == "file":
                code = await self._file_loop()
            else:
                self.ui.info("listening: speak into your microphone (Ctrl+C to quit)")
                await ctx.wait_for_shutdown()
        except asyncio.CancelledError:
            if not interrupted:
                raise
        except _NoSession as e:
            self.ui.error(str(e))
            code = 1
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGINT)
            set_console_io(None)
            await self._close(ctx, entry)
        if interrupted:
            self.ui.info("stopped")
        return code

    async def _wait_attached(self, entry: asyncio.Task[None]) -> None:
        assert self._attached is not None
        attached = asyncio.ensure_future(self._attached.wait())
        await asyncio.wait([attached, entry], return_when=asyncio.FIRST_COMPLETED)
        if not attached.done():
            attached.cancel()
            if entry.done() and entry.exception() is not None:
                raise _NoSession(f"the entrypoint failed: {entry.exception()!r}")
            raise _NoSession("the entrypoint returned without starting an AgentSession")

    async def _close(self, ctx: JobContext, entry: asyncio.Task[None]) -> None:
        if self.session is not None:
            with contextlib.suppress(Exception):
                await self.session.aclose()
        await ctx._run_shutdown("console closed")
        if not entry.done():
            await cancel_and_wait(entry)
        if self._audio_io is not None:
            self._audio_io.stop()
        if self.output_path is not None:
            self._write_output()
        if self._transcript is not None:
            self._transcript.close()
            self.ui.info(f"transcript: {self.transcript_path}")
        self.ui.close()

    # -- text mode ----------------------------------------------------------------------------

    async def _text_loop(self) -> None:
        assert self.session is not None
        session = self.session
        loop = asyncio.get_running_loop()
        await self._wait_idle(timeout=self.max_wait)
        self.ui.prompt()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            text = line.strip()
            if not text:
                self.ui.prompt()
                continue
            self.ui.user_typed(text)
            try:
                await session.run(user_input=text)
            except Exception as e:
                self.ui.error(f"the agent failed to reply: {e}")
            await self._wait_idle(timeout=self.max_wait)
            self.ui.prompt()

    # -- file mode ----------------------------------------------------------------------------

    async def _file_loop(self) -> int:
        from ..utils.audio import read_wav, silence_frame

        assert self.session is not None and self.input_path is not None
        session = self.session
        try:
            rate, channels, frames = read_wav(self.input_path, frame_ms=_FRAME_MS)
        except ValueError as e:
            self.ui.error(str(e))
            return 2
        audio_in = session.input.audio
        duration = sum(f.duration for f in frames)
        self.ui.info(f"playing {self.input_path} ({duration:.1f} s) to the agent")
        await self._wait_idle(timeout=self.max_wait)
        turns_before = self.ui.user_turns
        await self._pace(frames, audio_in)

        # keep the line open with silence until the agent has answered and gone quiet
        silence = silence_frame(rate, channels, _FRAME_MS / 1000)
        deadline = time.monotonic() + self.max_wait
        idle_since: float | None = None
        code = 0
        while time.monotonic() < deadline:
            await self._pace([silence], audio_in)
            if self._busy():
                idle_since = None
                continue
            idle_since = idle_since or time.monotonic()
            quiet_for = time.monotonic() - idle_since
            heard_user = self.ui.user_turns > turns_before
            if heard_user and self.ui.last_agent_turn_after_user and quiet_for >= 1.0:
                break
            if not heard_user and quiet_for >= 5.0:
                self.ui.error(f"no user turn was detected in {self.input_path}")
                code = 1
                break
        else:
            self.ui.error(f"the agent did not finish within {self.max_wait:.0f} s of the input ending")
            code = 1
        self.ui.summary()
        return code

    async def _pace(self, frames: list[rtc.AudioFrame], audio_in: Any) -> None:
        """Push frames at real-time pace (the pipeline's timing depends on it)."""
        start = time.monotonic()
        pushed = 0.0
        for f in frames:
            audio_in.push_frame(f)
            pushed += f.duration
            delay = start + pushed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    def _busy(self) -> bool:
        s = self.session
        if s is None:
            return False
        return (
            s.agent_state in ("thinking", "speaking")
            or s.user_state == "speaking"
            or s.current_speech is not None
            or self._user_pending()
        )

    def _user_pending(self) -> bool:
        s = self.session
        activity = getattr(s, "_activity", None)
        recognition = getattr(activity, "_recognition", None)
        if recognition is None:
            return False
        return bool(recognition.end_of_turn_pending or recognition.current_transcript)

    async def _wait_idle(self, *, timeout: float) -> None:
        """Wait until the agent is neither thinking nor speaking (e.g. after its greeting)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            if self.session is not None and self.session.current_speech is None and \
                    self.session.agent_state not in ("thinking", "speaking"):
                quiet += 1
                if quiet >= 3:
                    return
            else:
                quiet = 0
            await asyncio.sleep(0.05)

    def _write_output(self) -> None:
        from ..utils.audio import write_wav

        assert self.output_path is not None
        seconds = write_wav(self.output_path, self._played)
        if seconds > 0:
            self.ui.info(f"reply audio: {self.output_path} ({seconds:.1f} s)")
        else:
            self.ui.error(f"the agent produced no audio; {self.output_path} is empty")


class _NoSession(Exception):
    pass


async def _run_entrypoint(opts: WorkerOptions, ctx: JobContext) -> None:
    ctx._enter()
    await opts.entrypoint_fnc(ctx)


def _console_job() -> Any:
    from livekit.protocol import agent as agent_pb
    from livekit.protocol import models

    return agent_pb.Job(id="console-job", room=models.Room(name="console", sid="RM_console"))


def _in_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _has_audio_devices() -> bool:
    try:
        import sounddevice as sd

        sd.query_devices(kind="input")
        sd.query_devices(kind="output")
    except Exception:  # PortAudio missing (OSError) or no device (ValueError / PortAudioError)
        return False
    return True


def _list_devices() -> int:
    try:
        import sounddevice as sd
    except OSError as e:
        print(f"audio is unavailable: {e}", file=sys.stderr)
        return 1
    print(sd.query_devices())
    return 0
