"""Tiny MCP servers without dependencies, and the extension folders that hold them.

Each server is a hand-written newline-delimited JSON-RPC loop (Node, or Python's stdlib)
answering initialize, tools/list and tools/call, so a bundle needs no ``npm install`` or
``pip install``. Tools: ``greet`` (hello NAME), ``whoami`` (what the process was given:
args, cwd, the data dir, a hash of API_KEY) and ``list_dir`` (the names in a directory).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Json = dict[str, Any]

NODE_SERVER = r"""
const readline = require("readline");
const fs = require("fs");
const crypto = require("crypto");
const schema = (name) => name
  ? {type: "object", properties: {[name]: {type: "string"}}, required: [name]}
  : {type: "object", properties: {}};
const TOOLS = [
  {name: "greet", description: "Say hello", inputSchema: schema("name")},
  {name: "whoami", description: "What this process was given", inputSchema: schema(null)},
  {name: "list_dir", description: "Names in a directory", inputSchema: schema("path")},
];
function call(name, args) {
  if (name === "greet") return "hello " + args.name + " from node";
  if (name === "whoami") {
    const key = process.env.API_KEY || "";
    return JSON.stringify({
      runtime: "node", args: process.argv.slice(2), cwd: process.cwd(),
      data_dir: process.env.TETHER_EXTENSION_DATA_DIR || null,
      api_key_sha256: key ? crypto.createHash("sha256").update(key).digest("hex") : null,
      env_keys: Object.keys(process.env).sort(),
    });
  }
  if (name === "list_dir") return fs.readdirSync(args.path).sort().join("\n");
  throw new Error("no tool " + name);
}
function send(message) { process.stdout.write(JSON.stringify(message) + "\n"); }
console.error("node server " + process.argv.slice(2).join(" ") + " starting");
readline.createInterface({input: process.stdin}).on("line", (line) => {
  if (!line.trim()) return;
  const msg = JSON.parse(line);
  if (msg.id === undefined) return;
  const reply = (result) => send({jsonrpc: "2.0", id: msg.id, result});
  if (msg.method === "initialize") {
    reply({protocolVersion: msg.params.protocolVersion, capabilities: {tools: {}},
           serverInfo: {name: "tiny-node", version: "1.0.0"}});
  } else if (msg.method === "tools/list") {
    reply({tools: TOOLS});
  } else if (msg.method === "tools/call") {
    try {
      const text = call(msg.params.name, msg.params.arguments || {});
      reply({content: [{type: "text", text: text}], isError: false});
    } catch (e) {
      reply({content: [{type: "text", text: String(e.message)}], isError: true});
    }
  } else if (msg.method === "ping") {
    reply({});
  } else {
    send({jsonrpc: "2.0", id: msg.id, error: {code: -32601, message: "Method not found: " + msg.method}});
  }
});
"""

PYTHON_SERVER = r"""
import hashlib, json, os, sys
from tinyhelper import greeting  # from server/lib, on PYTHONPATH

def schema(name):
    if name is None:
        return {"type": "object", "properties": {}}
    return {"type": "object", "properties": {name: {"type": "string"}}, "required": [name]}

TOOLS = [
    {"name": "greet", "description": "Say hello", "inputSchema": schema("name")},
    {"name": "whoami", "description": "What this process was given", "inputSchema": schema(None)},
    {"name": "list_dir", "description": "Names in a directory", "inputSchema": schema("path")},
]

def call(name, args):
    if name == "greet":
        return greeting(args["name"])
    if name == "whoami":
        key = os.environ.get("API_KEY", "")
        return json.dumps({
            "runtime": "python", "args": sys.argv[1:], "cwd": os.getcwd(),
            "data_dir": os.environ.get("TETHER_EXTENSION_DATA_DIR"),
            "api_key_sha256": hashlib.sha256(key.encode()).hexdigest() if key else None,
            "env_keys": sorted(os.environ),
        })
    if name == "list_dir":
        return "\n".join(sorted(os.listdir(args["path"])))
    raise ValueError("no tool " + name)

print("python server starting", file=sys.stderr, flush=True)
for line in sys.stdin:
    if not line.strip():
        continue
    msg = json.loads(line)
    if "id" not in msg:
        continue
    if msg["method"] == "initialize":
        result = {"protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
                  "serverInfo": {"name": "tiny-python", "version": "1.0.0"}}
    elif msg["method"] == "tools/list":
        result = {"tools": TOOLS}
    elif msg["method"] == "tools/call":
        try:
            text, is_error = call(msg["params"]["name"], msg["params"].get("arguments") or {}), False
        except Exception as error:
            text, is_error = str(error), True
        result = {"content": [{"type": "text", "text": text}], "isError": is_error}
    elif msg["method"] == "ping":
        result = {}
    else:
        reply = {"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32601, "message": "Method not found"}}
        print(json.dumps(reply), flush=True)
        continue
    print(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}), flush=True)
"""

PYTHON_HELPER = 'def greeting(name):\n    return "hello " + name + " from python"\n'

CRASHING_SERVER = r"""
console.error("loading configuration");
console.error("fatal: cannot reach the database at db.invalid");
process.exit(3);
"""

DECLARED_TOOLS = [
    {"name": "greet", "description": "Say hello"},
    {"name": "whoami", "description": "What this process was given"},
    {"name": "list_dir", "description": "Names in a directory"},
]


def manifest(
    name: str,
    *,
    server_type: str = "node",
    version: str = "1.0.0",
    mcp_config: Json | None = None,
    user_config: Json | None = None,
    tools: list[Json] | None = None,
    **fields: Any,
) -> Json:
    entry = "server/index.js" if server_type == "node" else "server/main.py"
    command = "node" if server_type == "node" else "python"
    raw: Json = {
        "manifest_version": "0.3",
        "name": name,
        "display_name": name.replace("-", " ").title(),
        "version": version,
        "description": f"The {name} test extension",
        "author": {"name": "Tester"},
        "server": {
            "type": server_type,
            "entry_point": entry,
            "mcp_config": mcp_config or {"command": command, "args": ["${__dirname}/" + entry]},
        },
        "tools": DECLARED_TOOLS if tools is None else tools,
    }
    if user_config is not None:
        raw["user_config"] = user_config
    raw.update(fields)
    return raw


def write_files(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def node_extension(root: Path, raw: Json | None = None, *, server: str = NODE_SERVER) -> Path:
    """A Node extension folder: manifest.json and server/index.js."""
    raw = raw or manifest(root.name)
    return write_files(root, {"manifest.json": json.dumps(raw, indent=2), "server/index.js": server})


def python_extension(root: Path, raw: Json | None = None) -> Path:
    """A Python extension folder with its helper module bundled in server/lib."""
    raw = raw or manifest(root.name, server_type="python")
    return write_files(
        root,
        {
            "manifest.json": json.dumps(raw, indent=2),
            "server/main.py": PYTHON_SERVER,
            "server/lib/tinyhelper.py": PYTHON_HELPER,
        },
    )


def settings_manifest(name: str, *, version: str = "1.0.0") -> Json:
    """A Node extension with a sensitive API key (env) and a required directory (args)."""
    return manifest(
        name,
        version=version,
        mcp_config={
            "command": "node",
            "args": ["${__dirname}/server/index.js", "--root=${user_config.root}"],
            "env": {"API_KEY": "${user_config.api_key}"},
        },
        user_config={
            "api_key": {
                "type": "string",
                "title": "API key",
                "description": "The key of your account",
                "sensitive": True,
                "required": True,
            },
            "root": {
                "type": "directory",
                "title": "Root folder",
                "description": "The folder it may list",
                "required": True,
            },
            "verbose": {"type": "boolean", "title": "Verbose", "description": "More logs", "default": False},
        },
    )
