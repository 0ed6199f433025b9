"""Activity events of connectors: sign-ins and sign-outs (never a token, only what happened)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from tether.core.activity import ActivityEvent


@dataclass(frozen=True, slots=True)
class ConnectorSignedIn(ActivityEvent):
    kind: ClassVar[str] = "connector.signed_in"
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectorSignedOut(ActivityEvent):
    kind: ClassVar[str] = "connector.signed_out"
    revocation: str = ""
