"""The assistant's models: which LLMs are configured (``tether model add``) and how to reach them.

Configs are a shared setting; API keys go to the secret store (or stay in an environment
variable the config names) and never reach the database, the activity log or a message.
Provider SDKs load only when a model is built.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from tether.core.activity import ActivityEvent
from tether.core.storage import SecretStore, SettingsStore
from tether.errors import (
    ModelAuthFailed,
    ModelError,
    ModelUnreachable,
    NoModelConfigured,
    UnknownModel,
    UsageError,
)
from tether.types import Actor

if TYPE_CHECKING:
    import httpx2
    from pydantic_ai.models import Model

PROVIDERS = ("anthropic", "openai", "openai-compatible")
PROVIDER_NAMES = {"anthropic": "Anthropic", "openai": "OpenAI", "openai-compatible": "OpenAI-compatible"}
MODELS_SETTING = "chat.models"
DEFAULT_SETTING = "chat.default_model"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

NO_MODEL_HINT = (
    "no model is configured for the assistant: add one with `tether model add NAME --provider "
    "anthropic|openai|openai-compatible --model ID` (e.g. `tether model add local --provider "
    "openai-compatible --model llama3.2 --base-url http://127.0.0.1:11434/v1` for Ollama). "
    "Meanwhile the gateway works with the MCP client you already use: see `tether mcp`"
)


@dataclass(frozen=True, slots=True)
class ModelConfig:
    name: str
    provider: str
    model_id: str
    base_url: str | None = None
    api_key_env: str | None = None
    """Read the API key from this environment variable when the model is used."""
    has_stored_key: bool = False
    """An API key for this model is in the secret store."""

    @property
    def provider_name(self) -> str:
        return PROVIDER_NAMES[self.provider]

    def describe(self) -> dict[str, object]:
        """The config as it may be shown and logged: where the key is, never the key."""
        return {
            "name": self.name,
            "provider": self.provider,
            "model": self.model_id,
            "base_url": self.base_url,
            "api_key": _key_source(self),
        }


@dataclass(frozen=True, slots=True)
class ModelConfigured(ActivityEvent):
    """A model was added, removed or made the default (``action``); never with its key."""

    kind: ClassVar[str] = "chat.model"
    action: str = ""
    model: str = ""
    provider: str = ""
    model_id: str = ""
    base_url: str | None = None


Recorder = Callable[[ActivityEvent, Actor], Awaitable[object]]


class ModelRegistry:
    def __init__(self, settings: SettingsStore, secrets: SecretStore, record: Recorder) -> None:
        self._settings = settings
        self._secrets = secrets
        self._record = record

    async def add(self, actor: Actor, config: ModelConfig, *, api_key: str | None = None) -> ModelConfig:
        """Store ``config`` (replacing one of that name) and its key; the first model is the default."""
        _check(config)
        configs = await self._configs()
        if api_key:
            self._secrets.set_secret(_secret_key(config.name), api_key)
        elif config.name in configs:
            self._secrets.delete_secret(_secret_key(config.name))
        stored = dataclasses.replace(config, has_stored_key=bool(api_key))
        configs[config.name] = stored
        await self._settings.set_setting(MODELS_SETTING, {n: _to_json(c) for n, c in configs.items()})
        await self._record(_event("added", stored), actor)
        if await self.default_name() is None:
            await self.set_default(actor, config.name)
        return stored

    async def remove(self, actor: Actor, name: str) -> None:
        configs = await self._configs()
        config = configs.pop(name, None)
        if config is None:
            raise _unknown(name)
        self._secrets.delete_secret(_secret_key(name))
        await self._settings.set_setting(MODELS_SETTING, {n: _to_json(c) for n, c in configs.items()})
        if await self._settings.get_setting(DEFAULT_SETTING) == name:
            await self._settings.set_setting(DEFAULT_SETTING, None)
        await self._record(_event("removed", config), actor)

    async def set_default(self, actor: Actor, name: str) -> None:
        config = await self.get(name)
        await self._settings.set_setting(DEFAULT_SETTING, name)
        await self._record(_event("default", config), actor)

    async def list(self) -> list[ModelConfig]:
        return sorted((await self._configs()).values(), key=lambda c: c.name)

    async def get(self, name: str) -> ModelConfig:
        config = (await self._configs()).get(name)
        if config is None:
            raise _unknown(name)
        return config

    async def default_name(self) -> str | None:
        name = await self._settings.get_setting(DEFAULT_SETTING)
        return name if isinstance(name, str) and name in await self._configs() else None

    async def resolve(self, name: str | None) -> ModelConfig:
        """The model called ``name``, or the default one; NoModelConfigured says how to add one."""
        if name is not None:
            return await self.get(name)
        default = await self.default_name()
        if default is not None:
            return await self.get(default)
        configs = await self.list()
        if not configs:
            raise NoModelConfigured(NO_MODEL_HINT)
        return configs[0]

    def api_key(self, config: ModelConfig) -> str | None:
        if config.api_key_env:
            return os.environ.get(config.api_key_env) or None
        return self._secrets.get_secret(_secret_key(config.name)) if config.has_stored_key else None

    def build(self, config: ModelConfig, http_client: httpx2.AsyncClient | None = None) -> Model:
        """A pydantic-ai model for ``config``; no network traffic happens here.

        Its requests go through ``http_client`` (which the caller closes); without one, the
        provider SDK makes a client of its own that lives as long as the process.
        """
        key = self.api_key(config)
        if key is None and config.provider != "openai-compatible":
            where = f" ({config.api_key_env} is not set)" if config.api_key_env else ""
            raise ModelAuthFailed(
                f"model '{config.name}' ({config.provider_name}) has no API key{where}: add it with "
                f"`tether model add {config.name} --provider {config.provider} --model {config.model_id}`"
            )
        if config.provider == "anthropic":
            from pydantic_ai.models.anthropic import AnthropicModel
            from pydantic_ai.providers.anthropic import AnthropicProvider

            provider = AnthropicProvider(api_key=key, base_url=config.base_url, http_client=http_client)
            return AnthropicModel(config.model_id, provider=provider)
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        # Local servers (Ollama, LM Studio, llama.cpp) need no key, but the client wants one.
        api_key = key or "no-key"
        compatible = OpenAIProvider(base_url=config.base_url, api_key=api_key, http_client=http_client)
        return OpenAIChatModel(config.model_id, provider=compatible)

    async def _configs(self) -> dict[str, ModelConfig]:
        stored = await self._settings.get_setting(MODELS_SETTING)
        if not isinstance(stored, Mapping):
            return {}
        return {
            str(name): _from_json(str(name), cast(Mapping[str, Any], value))
            for name, value in cast(Mapping[str, object], stored).items()
            if isinstance(value, Mapping)
        }


def _check(config: ModelConfig) -> None:
    if not _NAME.match(config.name):
        raise UsageError(
            f"'{config.name}' cannot name a model: use 1 to 64 lowercase letters, digits, '.', '-' or '_'"
        )
    if config.provider not in PROVIDERS:
        raise UsageError(f"unknown provider '{config.provider}': use one of {', '.join(PROVIDERS)}")
    if not config.model_id:
        raise UsageError("say which model to use with --model, e.g. --model claude-sonnet-4-5")
    if config.provider == "openai-compatible" and not config.base_url:
        raise UsageError(
            "an openai-compatible model needs --base-url, e.g. http://127.0.0.1:11434/v1 for Ollama"
        )
    if config.base_url and not config.base_url.startswith(("http://", "https://")):
        raise UsageError(f"--base-url must be an http:// or https:// URL, not '{config.base_url}'")


def _unknown(name: str) -> UnknownModel:
    return UnknownModel(f"no model named '{name}': see `tether model list`")


def _secret_key(name: str) -> str:
    return f"chat/model/{name}/api_key"


def _key_source(config: ModelConfig) -> str:
    if config.api_key_env:
        return f"env:{config.api_key_env}"
    return "secret store" if config.has_stored_key else "none"


def _event(action: str, config: ModelConfig) -> ModelConfigured:
    return ModelConfigured(
        action=action,
        model=config.name,
        provider=config.provider,
        model_id=config.model_id,
        base_url=config.base_url,
    )


def _to_json(config: ModelConfig) -> dict[str, object]:
    return {
        "provider": config.provider,
        "model": config.model_id,
        "base_url": config.base_url,
        "api_key_env": config.api_key_env,
        "has_stored_key": config.has_stored_key,
    }


def _from_json(name: str, value: Mapping[str, Any]) -> ModelConfig:
    return ModelConfig(
        name=name,
        provider=str(value.get("provider", "")),
        model_id=str(value.get("model", "")),
        base_url=value.get("base_url"),
        api_key_env=value.get("api_key_env"),
        has_stored_key=bool(value.get("has_stored_key", False)),
    )


def model_error(error: Exception, config: ModelConfig) -> ModelError:
    """A pydantic-ai failure as tether's error: it names the model and its provider, and what to do."""
    from pydantic_ai.exceptions import (
        ModelAPIError,
        ModelAuthenticationError,
        ModelConnectionError,
        ModelRequestTimeout,
        ModelUnavailableError,
    )

    where = config.base_url or f"{config.provider_name}'s API"
    detail = error.message if isinstance(error, ModelAPIError) else str(error)
    if isinstance(error, ModelAuthenticationError):
        return ModelAuthFailed(
            f"{config.provider_name} refused the API key of model '{config.name}' ({detail}): set a "
            f"valid one with `tether model add {config.name} --provider {config.provider} "
            f"--model {config.model_id}`"
        )
    if isinstance(error, ModelConnectionError | ModelRequestTimeout | ModelUnavailableError):
        return ModelUnreachable(
            f"model '{config.name}' ({config.provider_name}) did not answer at {where}: {detail}"
        )
    return ModelError(f"model '{config.name}' ({config.provider_name}) failed: {detail}")
