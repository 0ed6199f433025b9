"""Sample manifests (modelled on the mcpb repo's examples), zip builders and certificates
for the bundle-layer tests. Hostile zips are built here byte by byte where zipfile won't."""

from __future__ import annotations

import functools
import io
import json
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Json = dict[str, Any]


def minimal_manifest(manifest_version: str = "0.3", **fields: Any) -> Json:
    """The smallest valid manifest: a node server at server/index.js."""
    manifest: Json = {
        "manifest_version": manifest_version,
        "name": "hello",
        "version": "1.0.0",
        "description": "Says hello",
        "author": {"name": "Tester"},
        "server": {
            "type": "node",
            "entry_point": "server/index.js",
            "mcp_config": {"command": "node", "args": ["${__dirname}/server/index.js"]},
        },
    }
    manifest.update(fields)
    return manifest


def python_manifest_v01() -> Json:
    """Like examples/file-manager-python (without privacy_policies, which 0.1 lacks)."""
    return {
        "$schema": "../../dist/mcpb-manifest.schema.json",
        "manifest_version": "0.1",
        "name": "file-manager-python",
        "display_name": "Python File Manager MCP",
        "version": "0.1.0",
        "description": "A Python MCP server for file operations",
        "author": {
            "name": "Anthropic",
            "email": "support@anthropic.com",
            "url": "https://github.com/anthropics",
        },
        "server": {
            "type": "python",
            "entry_point": "server/main.py",
            "mcp_config": {
                "command": "python",
                "args": ["${__dirname}/server/main.py", "--workspace=${user_config.workspace_directory}"],
                "env": {"DEBUG": "${user_config.debug_mode}", "PYTHONPATH": "${__dirname}/server/lib"},
            },
        },
        "tools": [{"name": "list_files", "description": "List files in a directory"}],
        "keywords": ["file", "python"],
        "license": "MIT",
        "user_config": {
            "workspace_directory": {
                "type": "directory",
                "title": "Workspace Directory",
                "description": "Directory to use as workspace",
                "default": "${HOME}/Documents",
                "required": False,
            },
            "debug_mode": {
                "type": "boolean",
                "title": "Debug Mode",
                "description": "Enable debug output",
                "default": False,
                "required": False,
            },
        },
        "compatibility": {
            "claude_desktop": ">=0.10.0",
            "platforms": ["darwin", "win32", "linux"],
            "runtimes": {"python": ">=3.8.0 <4"},
        },
    }


def node_manifest_v02() -> Json:
    """Like examples/file-system-node: a multiple directory setting expanded into args."""
    return {
        "manifest_version": "0.2",
        "name": "Filesystem",
        "display_name": "Filesystem",
        "version": "0.1.3",
        "description": "Let Claude access your filesystem to read and write files.",
        "author": {"name": "Anthropic", "url": "https://www.claude.ai"},
        "homepage": "https://www.claude.ai",
        "icon": "icon.png",
        "server": {
            "type": "node",
            "entry_point": "server/index.js",
            "mcp_config": {
                "command": "node",
                "args": ["${__dirname}/server/index.js", "${user_config.allowed_directories}"],
            },
        },
        "tools": [{"name": "read_file", "description": "Read the contents of a file"}],
        "license": "MIT",
        "compatibility": {"platforms": ["darwin", "win32", "linux"], "runtimes": {"node": ">=16.0.0"}},
        "user_config": {
            "allowed_directories": {
                "type": "directory",
                "title": "Allowed Directories",
                "description": "Select directories the filesystem server can access",
                "multiple": True,
                "required": True,
                "default": [],
            }
        },
        "privacy_policies": [],
    }


def node_manifest_v03() -> Json:
    """Like examples/hello-world-node, plus the 0.3 fields (icons, localization, _meta, prompts)."""
    return {
        "manifest_version": "0.3",
        "name": "hello-world-node",
        "display_name": "Hello World MCP Server (Reference Extension)",
        "version": "0.1.0",
        "description": "A reference MCP extension",
        "long_description": "Demonstrates **all** manifest features.",
        "author": {"name": "Acme Inc", "email": "support@acme.void", "url": "https://www.acme.void"},
        "repository": {"type": "git", "url": "https://github.com/acme/my-repo"},
        "homepage": "https://docs.acme.void/my-repo/extensions",
        "documentation": "https://docs.acme.void/my-repo/extensions/hello-world",
        "support": "https://github.com/acme/my-repo/issues",
        "icon": "icon.png",
        "icons": [
            {"src": "assets/icon-16.png", "size": "16x16", "theme": "light"},
            {"src": "assets/icon-128.png", "size": "128x128"},
        ],
        "screenshots": ["assets/screenshot1.png"],
        "localization": {"resources": "mcpb-resources/${locale}.json", "default_locale": "en-US"},
        "server": {
            "type": "node",
            "entry_point": "server/index.js",
            "mcp_config": {
                "command": "node",
                "args": [
                    "${__dirname}/server/index.js",
                    "--verbose=${user_config.verbose_logging}",
                    "--max-results=${user_config.max_results}",
                ],
                "env": {"API_KEY": "${user_config.api_key}"},
                "platform_overrides": {"win32": {"env": {"API_KEY": "${user_config.api_key}", "WIN": "1"}}},
            },
        },
        "tools": [{"name": "get_current_time", "description": "Get the current computer time"}],
        "tools_generated": True,
        "prompts": [
            {
                "name": "poetry",
                "description": "Write poetry",
                "arguments": ["topic"],
                "text": "A poem on ${arguments.topic}",
            }
        ],
        "prompts_generated": False,
        "keywords": ["reference", "example"],
        "license": "MIT",
        "privacy_policies": ["https://example.com/privacy"],
        "compatibility": {
            "claude_desktop": ">=0.10.0",
            "platforms": ["darwin", "win32", "linux"],
            "runtimes": {"node": ">=16.0.0"},
        },
        "user_config": {
            "api_key": {
                "type": "string",
                "title": "API Key",
                "description": "Your API key",
                "sensitive": True,
                "required": True,
            },
            "verbose_logging": {
                "type": "boolean",
                "title": "Verbose Logging",
                "description": "Enable detailed logging output",
                "default": False,
            },
            "max_results": {
                "type": "number",
                "title": "Maximum Results",
                "description": "Maximum number of results to return",
                "default": 10,
                "min": 1,
                "max": 100,
            },
        },
        "_meta": {"com.microsoft.windows": {"package_family_name": "MyMcpMSIXPackage_51g09708xawrw"}},
    }


def uv_manifest_v04() -> Json:
    """examples/hello-world-uv, which has no mcp_config."""
    return {
        "manifest_version": "0.4",
        "name": "hello-world-uv",
        "display_name": "Hello World (UV Runtime)",
        "version": "1.0.0",
        "description": "Simple MCP server using UV runtime",
        "author": {"name": "Anthropic"},
        "icon": "icon.png",
        "server": {"type": "uv", "entry_point": "src/server.py"},
        "compatibility": {"platforms": ["darwin", "linux", "win32"], "runtimes": {"python": ">=3.10"}},
        "keywords": ["example", "hello-world", "uv"],
        "license": "MIT",
    }


def dxt_manifest() -> Json:
    """examples/chrome-applescript as an old DXT bundle: dxt_version and a stray ``scripts``."""
    return {
        "dxt_version": "0.1",
        "name": "chrome-applescript",
        "version": "0.1.0",
        "description": "Control Google Chrome browser tabs",
        "author": {"name": "Anthropic"},
        "scripts": {"start": "node server/index.js"},
        "server": {
            "type": "node",
            "entry_point": "server/index.js",
            "mcp_config": {"command": "node", "args": ["${__dirname}/server/index.js"], "env": {}},
        },
        "compatibility": {"platforms": ["darwin"]},
    }


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201e2a1bd570000000049454e44ae426082"
)


@dataclass(frozen=True)
class Entry:
    """One zip member to write: ``mode`` is the full Unix st_mode (type and permissions)."""

    name: str
    data: bytes = b""
    mode: int = stat.S_IFREG | 0o644


def file(name: str, data: bytes | str = b"", mode: int = 0o644) -> Entry:
    return Entry(name, data.encode() if isinstance(data, str) else data, stat.S_IFREG | mode)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, target.encode(), stat.S_IFLNK | 0o777)


def make_zip(entries: Iterable[Entry], comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = entry.mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entry.data)
        archive.comment = comment
    return buffer.getvalue()


def bundle_bytes(manifest: Mapping[str, Any] | None = None, *extra: Entry, entry_point: bool = True) -> bytes:
    """A bundle with ``manifest`` (default: minimal), its entry point, and ``extra`` members."""
    manifest = dict(manifest or minimal_manifest())
    entries = [file("manifest.json", json.dumps(manifest))]
    if entry_point:
        entries.append(file(manifest["server"]["entry_point"], "console.log('hi')\n"))
    return make_zip([*entries, *extra])


@dataclass(frozen=True)
class RawMember:
    """A member for ``raw_zip``: already deflated data and the sizes to declare."""

    name: str
    deflated: bytes
    crc: int
    declared_size: int
    flag_bits: int = 0x800  # UTF-8 names


def raw_zip(members: Iterable[RawMember], stored: Iterable[Entry] = ()) -> bytes:
    """Write a zip by hand so a member can declare any size; ``stored`` members are honest."""
    out = io.BytesIO()
    central: list[bytes] = []
    items: list[RawMember] = [
        RawMember(e.name, _deflate(e.data), zlib.crc32(e.data), len(e.data)) for e in stored
    ] + list(members)
    for item in items:
        name = item.name.encode()
        offset = out.tell()
        sizes = (item.crc, len(item.deflated), item.declared_size)
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, item.flag_bits, 8, 0, 0x21, *sizes, len(name), 0)
        out.write(header + name + item.deflated)
        fields = (0x02014B50, 0x031E, 20, item.flag_bits, 8, 0, 0x21, *sizes, len(name), 0, 0, 0, 0)
        attributes = (stat.S_IFREG | 0o644) << 16
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", *fields, attributes, offset) + name)
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(items), len(items), len(directory), start, 0))
    return out.getvalue()


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


@functools.cache
def zeros_deflated(size_mib: int) -> tuple[bytes, int]:
    """``size_mib`` MiB of zeros as raw deflate (about 1 KB per MiB) and their CRC-32, cheaply:
    each MiB is one independent, byte-aligned block after a full flush."""
    chunk = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(size_mib):
        crc = zlib.crc32(chunk, crc)
    return block * size_mib + compressor.flush(zlib.Z_FINISH), crc


# -- certificates ----------------------------------------------------------------------------

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Identity:
    cert: x509.Certificate
    key: Key


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tests"),
        ]
    )


@functools.cache
def _rsa_key(label: str) -> rsa.RSAPrivateKey:
    del label  # one key per label, cached for speed
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_identity(
    common_name: str,
    *,
    issuer: Identity | None = None,
    is_ca: bool = False,
    key: Key | None = None,
    usages: tuple[x509.ObjectIdentifier, ...] | None = (ExtendedKeyUsageOID.CODE_SIGNING,),
    not_before: datetime | None = None,
    days: int = 365,
) -> Identity:
    """A certificate for ``common_name``, self-signed unless ``issuer`` is given."""
    key = key or _rsa_key(common_name)
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.cert.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if usages is not None and not is_ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
    signer_key = issuer.key if issuer else key
    return Identity(builder.sign(signer_key, hashes.SHA256()), key)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())
