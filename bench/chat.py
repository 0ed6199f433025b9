"""Issue 10's benchmark: one assistant turn (a scripted model, 5 tool calls) through tether's loop
vs pydantic-ai calling the same tools itself.

Every case talks to the same stdio echo server in one run and streams the same scripted model.
"pydantic-ai + Host.call_tool" is the target's baseline: plain function tools that call the
host (policy ``allow``, activity recorded); tether's loop adds the toolset, events, the
conversation store and its checkpoints on top. "pydantic-ai + MCP client" shows what the host
itself costs.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters
from pydantic_ai import Agent, RunContext
from pydantic_ai.messages import AgentStreamEvent, ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel

from bench.measure import Case, Row, compare, report, run_case
from tether.app import open_app
from tether.chat.assistant import Assistant, ChatOptions
from tether.chat.models import ModelConfig
from tether.config import load_settings
from tether.types import Actor, Effect, SourceConfig

ECHO = [sys.executable, str(Path(__file__).with_name("echo_server.py"))]
ME = Actor("bench")
CALLS_PER_TURN = 5


def _parts(messages: list[ModelMessage]) -> list[TextPart | ToolCallPart]:
    if any(p.part_kind == "tool-return" for p in messages[-1].parts):
        return [TextPart("All five echoed.")]
    return [
        ToolCallPart("echo__echo", {"text": f"hello {n}"}, tool_call_id=f"c{n}")
        for n in range(CALLS_PER_TURN)
    ]


async def _stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str | DeltaToolCalls]:
    for index, part in enumerate(_parts(messages)):
        if isinstance(part, TextPart):
            yield part.content
        else:
            yield {
                index: DeltaToolCall(part.tool_name, part.args_as_json_str(), tool_call_id=part.tool_call_id)
            }


def _respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    return ModelResponse(parts=_parts(messages))


def scripted_model() -> FunctionModel:
    return FunctionModel(_respond, stream_function=_stream, model_name="scripted")


async def _drain(ctx: RunContext[object], events: AsyncIterable[AgentStreamEvent]) -> None:
    async for _ in events:
        pass


async def measure_turns(*, turns: int, repeats: int) -> tuple[list[Row], tuple[float, ...]]:
    model = scripted_model()
    async with Client(StdioServerParameters(command=ECHO[0], args=ECHO[1:])) as client:
        plain = Agent(model, name="plain")

        @plain.tool_plain(name="echo__echo")
        async def echo_direct(text: str) -> str:
            answer = await client.call_tool("echo", {"text": text})
            return str(getattr(answer.content[0], "text", ""))

        async def direct_turn() -> object:
            return await plain.run("echo five times", event_stream_handler=_drain)

        direct = await run_case(
            Case("pydantic-ai + MCP client (no host)", 1), direct_turn, calls=turns, repeats=repeats
        )

    with tempfile.TemporaryDirectory() as home:
        os.environ["TETHER_HOME"] = home
        settings = load_settings(
            {"TETHER_HOME": home, "TETHER_SECRETS_BACKEND": "file", "TETHER_CONFIG": home + "/t"}
        )
        async with open_app(settings) as tether:
            await tether.add_source(ME, SourceConfig(name="echo", command=ECHO[0], args=tuple(ECHO[1:])))
            await tether.start_sources()
            await tether.host.set_policy(ME, await tether.host.resolve("echo__echo"), Effect.ALLOW)

            through_host = Agent(model, name="through-host")

            @through_host.tool_plain(name="echo__echo")
            async def echo_via_host(text: str) -> str:
                return (await tether.host.call_tool(ME, "echo__echo", {"text": text})).text

            async def host_turn() -> object:
                return await through_host.run("echo five times", event_stream_handler=_drain)

            options = ChatOptions(model_max_retries=0)
            async with Assistant(
                tether.host, tether.store, tether.secrets, options, build_model=lambda _: model
            ) as assistant:
                config = ModelConfig(
                    "scripted", "openai-compatible", "scripted", base_url="http://127.0.0.1:9/v1"
                )
                await assistant.models.add(ME, config)

                async def tether_turn() -> object:
                    async with assistant.send("echo five times") as run:
                        async for _ in run:
                            pass
                    return run

                # Interleaved, so a busy machine slows both alike.
                baseline = Case("pydantic-ai + Host.call_tool", 1)
                loop = Case("tether chat loop", 1)
                for _ in range(repeats):
                    for case, turn in ((baseline, host_turn), (loop, tether_turn)):
                        started = time.process_time()
                        await run_case(case, turn, calls=turns, repeats=1)
                        case.cpu_s += time.process_time() - started
    rows = compare("chat turn", baseline, [loop])
    # The host's own cost, for reference: the same agent calling the MCP client with no host.
    rows += [
        dataclasses.replace(row, case=f"{row.case} (vs no host)")
        for row in compare("chat turn", direct, [baseline])[1:]
    ]
    # run_case warms up with turns // 20 extra turns per block; CPU is per measured-or-warm-up turn.
    per_block = turns + max(1, turns // 20)
    cpu_ms = tuple(round(c.cpu_s / (per_block * repeats) * 1000, 2) for c in (baseline, loop))
    return rows, cpu_ms


def main(*, quick: bool) -> None:
    turns, repeats = (20, 3) if quick else (100, 5)
    rows, cpu_ms = anyio.run(lambda: measure_turns(turns=turns, repeats=repeats))
    loop, baseline = rows[1], rows[0]
    added = (loop.p50_us - baseline.p50_us) / baseline.p50_us
    report(
        "chat: a turn of 5 tool calls, tether's loop vs pydantic-ai calling the tools",
        rows,
        {
            "tool calls per turn": CALLS_PER_TURN,
            "tether loop added over pydantic-ai + Host.call_tool (p50)": f"{added:.1%}",
            "CPU per turn, pydantic-ai + Host.call_tool (ms)": cpu_ms[0],
            "CPU per turn, tether chat loop (ms)": cpu_ms[1],
            "target": "at most 10%",
        },
    )
