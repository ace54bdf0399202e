"""A voice agent that runs entirely offline: no network, no API keys, no GPU.

Every model comes inside a PyPI package and runs on the CPU:

- VAD: Silero (onnxruntime)                           vad="silero"
- STT: Whisper base, int8 (faster-whisper)            stt="local/whisper-base"
- turn detection: semantic end-of-turn model          turn_detection="semantic"
- LLM: SmolLM2-135M-Instruct (llama.cpp)              llm="local/smollm2"
- TTS: Piper, voice "joe" (GPL-3.0-or-later)          tts="local/piper"

Install and run one spoken turn from a WAV file. The first install builds llama.cpp from
source (PyPI has no binary wheel of llama-cpp-python): 4 to 7 minutes on 2 cores, once; pip
caches the wheel, and ``-DLLAVA_BUILD=OFF`` skips the multimodal part this agent does not need:

    CMAKE_ARGS="-DLLAVA_BUILD=OFF" pip install "livekit-plugins-local[whisper,smollm2]" \
        livekit-plugins-piper livekit-plugins-silero livekit-plugins-turn-detector
    python examples/offline_agent.py console --input examples/assets/question.wav \
        --output reply.wav --transcript turn.jsonl

(from a clone of the repository, install the folders instead: ``./livekit-agents-core
"./plugins/livekit-plugins-local[whisper,smollm2]" ./plugins/livekit-plugins-piper ...``).

Or talk to it with a microphone: ``python examples/offline_agent.py console``.

SmolLM2-135M is tiny: its replies are fluent but generic, and it makes things up (it does
not know today's weather). It cannot call tools, so this agent has none.
"""

from __future__ import annotations

from livekit.agents import Agent, AgentSession, JobContext, JobProcess, WorkerOptions, cli


class OfflineAssistant(Agent):
    def __init__(self) -> None:
        super().__init__(
            instructions=(
                # small models follow short, plain instructions best; without "English" this
                # one often answers questions about Paris in French
                "You are a helpful English-speaking voice assistant. Keep every answer to one "
                "or two short, simple sentences. You cannot look anything up."
            )
        )


def prewarm(proc: JobProcess) -> None:
    """Load the models once per process, before the first conversation (sessions share them)."""
    from livekit.plugins import local, piper

    local.STT().load()
    local.LLM().load()
    piper.TTS().load()


async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    session = AgentSession(
        stt="local/whisper-base",
        llm="local/smollm2",
        tts="local/piper",
        vad="silero",
        turn_detection="semantic",
    )
    await session.start(agent=OfflineAssistant(), room=ctx.room)


if __name__ == "__main__":
    cli.run_app(WorkerOptions(entrypoint_fnc=entrypoint, prewarm_fnc=prewarm))
