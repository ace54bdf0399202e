"""A phone agent: greets inbound callers by number, or dials out when the job says so.

Inbound: route calls to rooms with a LiveKit SIP dispatch rule; the caller joins the room as a
SIP participant and this agent is dispatched to it. Outbound: dispatch the agent with metadata
``{"phone_number": "+14155550100"}`` and set ``SIP_OUTBOUND_TRUNK_ID``.

    python examples/telephony.py console --text      # try the conversation locally
    python examples/telephony.py start                 # run against your LiveKit server
"""

from __future__ import annotations

import json
import logging
import os

from livekit.agents import (
    Agent,
    AgentSession,
    JobContext,
    RunContext,
    cli,
    function_tool,
    get_job_context,
    sip,
)
from livekit.agents.testing import FakeLLM

logger = logging.getLogger("telephony-example")


class PhoneAgent(Agent):
    def __init__(self, caller_number: str | None = None) -> None:
        super().__init__(
            instructions="You answer the phone for a dental clinic. Be brief; callers are on the phone. "
            "Offer to transfer to the front desk for anything you cannot handle."
        )
        self.caller_number = caller_number

    async def on_enter(self) -> None:
        greeting = "Thanks for calling the clinic, how can I help?"
        if self.caller_number:
            greeting = f"Thanks for calling the clinic. I see you're calling from {self.caller_number}. How can I help?"
        await self.session.say(greeting, allow_interruptions=False)

    @function_tool
    async def transfer_to_front_desk(self, context: RunContext) -> str:
        """Transfer the caller to a human at the front desk."""
        desk = os.environ.get("FRONT_DESK_NUMBER")
        linked = getattr(context.session.room_io, "linked_participant", None)
        if not desk or linked is None or not sip.is_sip_participant(linked):
            return "transfers are not available right now"
        await context.session.say("Transferring you now.", allow_interruptions=False)
        await sip.transfer(room_name=get_job_context().room.name,
                           participant_identity=linked.identity, to=desk)
        return "transferred"


async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    metadata = json.loads(ctx.job.metadata or "{}")
    caller_number = None
    if phone := metadata.get("phone_number"):  # outbound: call them first
        trunk = os.environ.get("SIP_OUTBOUND_TRUNK_ID", "")
        try:
            await ctx.add_sip_participant(call_to=phone, trunk_id=trunk, participant_identity="callee")
        except sip.CallFailedError as e:
            logger.warning("outbound call failed: %s", e)
            ctx.shutdown("call failed")
            return
    else:
        participant = await ctx.wait_for_participant()
        if sip.is_sip_participant(participant):
            caller_number = sip.call_info(participant).phone_number

    llm = os.environ.get("AGENT_LLM") or FakeLLM(default="We're open from nine to five, Monday to Friday.")
    session = AgentSession(llm=llm, min_endpointing_delay=0.6)  # phone lines add latency: wait a bit longer
    await session.start(agent=PhoneAgent(caller_number), room=ctx.room)


if __name__ == "__main__":
    cli.run_app(entrypoint)
