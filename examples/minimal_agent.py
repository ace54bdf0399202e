"""The smallest useful agent: instructions, one tool, and a session.

Run it in the terminal (type to talk; no keys needed with the fake LLM below):

    python examples/minimal_agent.py console --text

Swap the provider strings for real ones (e.g. llm="openai/gpt-4o-mini") once the plugin is
installed and its key is set.
"""

from __future__ import annotations

import os

from livekit.agents import Agent, AgentSession, JobContext, RunContext, cli, function_tool

LLM = os.environ.get("AGENT_LLM", "fake/echo")


class Assistant(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are a friendly voice assistant. Keep answers short.")

    async def on_enter(self) -> None:
        await self.session.say("Hello! How can I help you today?")

    @function_tool
    async def get_weather(self, context: RunContext, location: str) -> str:
        """Look up the current weather.

        Args:
            location: The city, e.g. "Paris".
        """
        return f"It is sunny and 22 degrees in {location}."


async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    session = AgentSession(llm=LLM, stt="fake", tts="fake", vad="fake")
    await session.start(agent=Assistant(), room=ctx.room)


if __name__ == "__main__":
    cli.run_app(entrypoint)
