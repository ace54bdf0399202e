"""Cold start: ``import livekit.agents`` and session start, each in a fresh process.

    python bench/bench_cold_start.py [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from _common import report, summarize

IMPORT = """
import time, resource
t = time.perf_counter()
import livekit.agents
import_s = time.perf_counter() - t
rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
from livekit.agents import Agent, AgentSession, function_tool
api_s = time.perf_counter() - t
import asyncio
from livekit.agents.testing import FakeLLM
async def main():
    t = time.perf_counter()
    s = AgentSession(llm=FakeLLM())
    await s.start(Agent(instructions="x"))
    started = time.perf_counter() - t
    await s.aclose()
    return started
start_s = asyncio.run(main())
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"import": import_s, "rss_import_mb": rss_import, "api": api_s, "start": start_s, "rss_mb": rss}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    rows = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, "-c", "import json\n" + IMPORT], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout))
    report("cold start (fresh process each run)", {
        "import livekit.agents": summarize([r["import"] for r in rows]),
        "RSS after import (MB)": round(max(r["rss_import_mb"] for r in rows), 1),
        "from livekit.agents import Agent, AgentSession, function_tool": summarize([r["api"] for r in rows]),
        "session start (text-only, fake LLM)": summarize([r["start"] for r in rows]),
        "RSS after a session (MB)": round(max(r["rss_mb"] for r in rows), 1),
    })


if __name__ == "__main__":
    main()
