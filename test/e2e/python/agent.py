"""The OpenAI Agents SDK (its default model class, OpenAIResponsesModel, on the Responses API) running an
agent with a function tool through the gateway, plainly and streamed. Prints one JSON line of findings
for test/e2e/agents-sdk.test.ts to check. Usage: agent.py BASE_URL KEY MODEL"""
import asyncio
import json
import sys

from openai import AsyncOpenAI
from agents import Agent, Runner, function_tool, set_default_openai_client, set_tracing_disabled

base, key, model = sys.argv[1], sys.argv[2], sys.argv[3]
set_tracing_disabled(True)
set_default_openai_client(AsyncOpenAI(base_url=base, api_key=key, max_retries=0), use_for_tracing=False)

calls = []


@function_tool
def get_weather(location: str, unit: str) -> str:
    """The weather of a place."""
    calls.append(location)
    return f"sunny in {location}"


agent = Agent(name="weather", instructions="Answer with the tool.", model=model, tools=[get_weather])


async def main():
    out = {}
    r = await Runner.run(agent, "What is the weather? [[fixture:tool-use]]")
    out["final"] = r.final_output
    out["calls"] = list(calls)
    calls.clear()
    s = Runner.run_streamed(agent, "What is the weather? [[fixture:tool-use]]")
    kinds = set()
    async for e in s.stream_events():
        kinds.add(e.type)
    out["streamed_final"] = s.final_output
    out["streamed_calls"] = list(calls)
    out["event_kinds"] = sorted(kinds)
    print(json.dumps(out))


asyncio.run(main())
