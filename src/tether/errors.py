"""The one error tree of tether.

Every error carries a stable ``code`` (what interfaces map to exit codes, HTTP status and
JSON-RPC errors, each in one table) and a message that tells the user what to do.
Control-flow signals are not errors and do not live here.

    TetherError
    ├── UsageError               bad input from the user: a name, a JSON file, a setting
    │   ├── InvalidName
    │   ├── InvalidArguments     arguments that fail a tool's input schema
    │   ├── ImportFormatError    an mcpServers file that cannot be read
    │   ├── BundleError          an .mcpb/.dxt file tether refuses to open, unpack or pack
    │   │   ├── InvalidManifest      manifest.json does not describe a runnable extension
    │   │   └── InvalidSignature     the bundle's signature block does not verify (tampered)
    │   ├── InvalidUserConfig    an extension's settings do not fit its user_config
    │   ├── IncompatibleExtension  the extension cannot run here: platform, runtime, client
    │   ├── DownloadFailed       a bundle URL that cannot be fetched
    │   │   └── BundleHashMismatch   the download is not the file the directory vouched for (sha256)
    │   └── NoModelConfigured    the assistant has no model yet: `tether model add`
    ├── NotFound
    │   ├── UnknownSource
    │   ├── UnknownTool
    │   ├── UnknownApproval
    │   ├── UnknownExtension
    │   ├── UnknownConversation  an assistant conversation id that is not stored
    │   ├── UnknownModel         a model name that `tether model add` never configured
    │   └── UnknownDirectoryEntry  an id that neither the curated catalog nor the MCP Registry knows
    ├── AlreadyExists
    ├── Refused                  the user's rules said no
    │   ├── ToolBlocked
    │   ├── ApprovalDenied
    │   ├── ApprovalExpired
    │   ├── SignatureRequired    require_signed_extensions is on and the bundle is not signed
    │   └── ToolCallLimit        an assistant turn made more tool calls than chat_max_tool_calls
    ├── Conflict                 somebody else decided or changed it first
    │   └── InstallInProgress    another tether is installing, updating or removing that extension
    ├── SourceError              a source failed to start, answer or finish
    │   ├── UpdateFailed         the new version did not start; the old one was put back
    │   ├── SourceUnavailable
    │   │   └── ConnectorUnreachable   DNS, TLS, refused or timed-out connection to a connector
    │   ├── SourceTimeout
    │   ├── NotAnMcpServer       the URL answers, but not as an MCP server (an HTML page...)
    │   ├── NeedsSignIn          a connector has no usable sign-in: `tether connector login`
    │   └── AuthError            signing in to a connector failed, or its server broke a rule
    │       ├── UnsafeUrl            OAuth metadata points where tether must not go (SSRF guard)
    │       ├── IssuerMismatch       metadata names another issuer than the one asked
    │       ├── PkceUnsupported      the authorization server does not offer PKCE S256
    │       ├── RedirectNotLoopback  a redirect URI that is not 127.0.0.1, [::1] or localhost
    │       ├── StateMismatch        the sign-in answer carries another state than the one sent
    │       ├── ConsentDenied        the user (or the server) refused the sign-in
    │       ├── TokenResponseError   the token endpoint answered an error or garbage
    │       ├── ClientCredentialsRefused  a machine-to-machine client id, secret or key was refused
    │       └── AuthServerUnavailable  the authorization server cannot be reached now
    ├── ModelError               the assistant's model did not answer
    │   ├── ModelAuthFailed      the provider refused the API key
    │   └── ModelUnreachable     the model endpoint is down, refused the connection or timed out
    └── StoreError               the data dir or database cannot be used
        ├── ChainBroken          the activity hash chain does not verify
        └── NoSpace              the disk filled up while writing (an extension's files...)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class TetherError(Exception):
    """Base of every error tether raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(TetherError):
    code = "usage"


class InvalidName(UsageError):
    code = "invalid_name"


class InvalidArguments(UsageError):
    code = "invalid_arguments"


class ImportFormatError(UsageError):
    code = "import_format"


class NotFound(TetherError):
    code = "not_found"


class UnknownSource(NotFound):
    code = "unknown_source"


class UnknownTool(NotFound):
    code = "unknown_tool"


class UnknownApproval(NotFound):
    code = "unknown_approval"


class AlreadyExists(TetherError):
    code = "already_exists"


class Refused(TetherError):
    code = "refused"


class ToolBlocked(Refused):
    code = "tool_blocked"


class ApprovalDenied(Refused):
    code = "approval_denied"


class ApprovalExpired(Refused):
    code = "approval_expired"


class Conflict(TetherError):
    code = "conflict"


class SourceError(TetherError):
    code = "source_error"


class SourceUnavailable(SourceError):
    code = "source_unavailable"


class SourceTimeout(SourceError):
    code = "source_timeout"


class StoreError(TetherError):
    code = "store_error"


class ChainBroken(StoreError):
    code = "chain_broken"


class ConnectorUnreachable(SourceUnavailable):
    code = "connector_unreachable"


class NotAnMcpServer(SourceError):
    code = "not_mcp_server"


class NeedsSignIn(SourceError):
    code = "needs_sign_in"


class AuthError(SourceError):
    code = "auth_error"


class UnsafeUrl(AuthError):
    code = "unsafe_url"


class IssuerMismatch(AuthError):
    code = "issuer_mismatch"


class PkceUnsupported(AuthError):
    code = "pkce_unsupported"


class RedirectNotLoopback(AuthError):
    code = "redirect_not_loopback"


class StateMismatch(AuthError):
    code = "state_mismatch"


class ConsentDenied(AuthError):
    code = "consent_denied"


class TokenResponseError(AuthError):
    code = "token_response"


class AuthServerUnavailable(AuthError):
    code = "auth_server_unavailable"


class ClientCredentialsRefused(AuthError):
    code = "client_credentials_refused"


# -- extensions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem with one field, e.g. ``user_config.api_key.type``: must be one of ..."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"`{self.path}`: {self.message}" if self.path else self.message


def _join(headline: str, problems: tuple[FieldProblem, ...]) -> str:
    return headline + ":\n" + "\n".join(f"  - {problem}" for problem in problems)


class BundleError(UsageError):
    """A bundle that tether refuses to open, unpack or pack."""

    code = "invalid_bundle"


class InvalidManifest(BundleError):
    """manifest.json that does not describe a runnable extension; ``problems`` lists every field."""

    code = "invalid_manifest"

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(_join("manifest.json is not valid", self.problems))


class InvalidSignature(BundleError):
    code = "invalid_signature"


class InvalidUserConfig(UsageError):
    """Settings that do not fit the extension's ``user_config``; ``problems`` lists every field."""

    code = "invalid_user_config"

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(_join("the extension's settings are not valid", self.problems))


class IncompatibleExtension(UsageError):
    code = "incompatible_extension"


class DownloadFailed(UsageError):
    code = "download_failed"


class UnknownExtension(NotFound):
    code = "unknown_extension"


class SignatureRequired(Refused):
    code = "signature_required"


class InstallInProgress(Conflict):
    code = "install_in_progress"


class UpdateFailed(SourceError):
    code = "update_failed"


class NoSpace(StoreError):
    code = "no_space"


class UnknownConversation(NotFound):
    code = "unknown_conversation"


class UnknownModel(NotFound):
    code = "unknown_model"


class NoModelConfigured(UsageError):
    code = "no_model"


class ModelError(TetherError):
    code = "model_error"


class ModelAuthFailed(ModelError):
    code = "model_auth"


class ModelUnreachable(ModelError):
    code = "model_unreachable"


class ToolCallLimit(Refused):
    code = "tool_call_limit"


class BundleHashMismatch(DownloadFailed):
    code = "bundle_hash_mismatch"


class UnknownDirectoryEntry(NotFound):
    code = "unknown_directory_entry"
