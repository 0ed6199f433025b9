"""Model configs and what happens when a model cannot be used: no model, a wrong key, a dead endpoint.

The failing endpoints are real HTTP servers on 127.0.0.1 (a tiny Starlette app); the models are
built exactly as for a user, with pydantic-ai's OpenAI and Anthropic clients.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.chat.harness import ME, drive
from tests.connectors.servers import serve_app
from tether.app import open_app
from tether.chat import events
from tether.chat.assistant import Assistant, ChatOptions
from tether.chat.models import ModelConfig
from tether.config import Settings
from tether.demo.tasks_server import bind_loopback
from tether.errors import NoModelConfigured, UnknownModel

KEY = "sk-test-0123456789abcdef"


async def test_a_models_api_key_goes_to_the_secret_store_never_the_database_or_the_log(
    settings: Settings,
) -> None:
    async with open_app(settings) as app:
        models = app.models()
        await models.add(ME, ModelConfig("claude", "anthropic", "claude-sonnet-4-5"), api_key=KEY)
        await models.add(ME, ModelConfig("gpt", "openai", "gpt-4.1", api_key_env="MY_OPENAI_KEY"))

        assert [c.name for c in await models.list()] == ["claude", "gpt"]
        assert await models.default_name() == "claude"  # the first one added
        claude = await models.get("claude")
        assert models.api_key(claude) == KEY
        assert claude.describe()["api_key"] == "secret store"
        assert (await models.get("gpt")).describe()["api_key"] == "env:MY_OPENAI_KEY"
        await models.set_default(ME, "gpt")
        assert (await models.resolve(None)).name == "gpt"
        rows = [r.data for r in await app.store.records() if r.kind == "chat.model"]
        assert [r["action"] for r in rows] == ["added", "default", "added", "default"]

        await models.remove(ME, "claude")
        assert models.api_key(claude) is None
        with pytest.raises(UnknownModel):
            await models.get("claude")
    assert KEY.encode() not in settings.database_path.read_bytes()
    for wal in settings.home.glob("tether.db*"):
        assert KEY.encode() not in wal.read_bytes()


async def test_without_a_model_the_error_says_how_to_add_one_and_that_the_gateway_works(
    settings: Settings,
) -> None:
    async with open_app(settings) as app:
        assistant = Assistant(app.host, app.store, app.secrets)
        with pytest.raises(NoModelConfigured) as raised:
            async with assistant.send("hello"):
                pass
    assert "tether model add" in str(raised.value)
    assert "gateway" in str(raised.value)
    assert await _no_conversations(settings)


async def test_a_wrong_api_key_is_a_clear_error_naming_the_provider(settings: Settings) -> None:
    async with serve_app(lambda _: _refusing_keys()) as base_url:
        for config, provider in (
            (ModelConfig("local", "openai-compatible", "m", base_url=f"{base_url}/v1"), "OpenAI-compatible"),
            (ModelConfig("claude", "anthropic", "claude-x", base_url=base_url), "Anthropic"),
        ):
            failed = await _one_turn(settings, config)
            assert failed.code == "model_auth"
            assert provider in failed.message
            assert f"tether model add {config.name}" in failed.message
            assert KEY not in failed.message


async def test_a_model_endpoint_that_is_down_is_a_clear_error(settings: Settings) -> None:
    sock = bind_loopback()  # a port nobody serves once closed
    port = sock.getsockname()[1]
    sock.close()
    config = ModelConfig("local", "openai-compatible", "m", base_url=f"http://127.0.0.1:{port}/v1")

    failed = await _one_turn(settings, config)

    assert failed.code == "model_unreachable"
    assert f"127.0.0.1:{port}" in failed.message


async def test_a_model_endpoint_that_never_answers_times_out_with_a_clear_error(settings: Settings) -> None:
    released = anyio.Event()

    async def hang(request: Request) -> Response:
        await released.wait()
        return Response(status_code=500)

    app = Starlette(routes=[Route("/v1/chat/completions", hang, methods=["POST"])])
    async with serve_app(lambda _: app) as base_url:
        config = ModelConfig("slow", "openai-compatible", "m", base_url=f"{base_url}/v1")
        try:
            failed = await _one_turn(settings, config, ChatOptions(model_timeout_s=0.5, model_max_retries=0))
        finally:
            released.set()

    assert failed.code == "model_unreachable"
    assert "slow" in failed.message


def _refusing_keys() -> Starlette:
    async def refuse(request: Request) -> Response:
        if request.url.path.endswith("/messages"):  # Anthropic's shape
            problem = {"type": "authentication_error", "message": "invalid x-api-key"}
            return JSONResponse({"type": "error", "error": problem}, status_code=401)
        problem = {"message": "Incorrect API key", "type": "invalid_request_error", "code": "invalid_api_key"}
        return JSONResponse({"error": problem}, status_code=401)

    return Starlette(
        routes=[
            Route("/v1/chat/completions", refuse, methods=["POST"]),
            Route("/v1/messages", refuse, methods=["POST"]),
        ]
    )


async def _one_turn(
    settings: Settings, config: ModelConfig, options: ChatOptions | None = None
) -> events.RunFailed:
    """One turn with ``config`` built as for a user (no scripted model); its final event."""
    options = options or ChatOptions(model_max_retries=0, model_timeout_s=10)
    async with _real_models(settings, options) as assistant:
        await assistant.models.add(ME, config, api_key=KEY)
        await assistant.models.set_default(ME, config.name)
        seen = await drive(assistant.send("hello"))
    failed = seen[-1]
    assert isinstance(failed, events.RunFailed), seen
    return failed


@asynccontextmanager
async def _real_models(settings: Settings, options: ChatOptions) -> AsyncGenerator[Assistant]:
    async with open_app(settings) as app, Assistant(app.host, app.store, app.secrets, options) as assistant:
        yield assistant


async def _no_conversations(settings: Settings) -> bool:
    async with open_app(settings) as app:
        return not await app.store.list_conversations()
