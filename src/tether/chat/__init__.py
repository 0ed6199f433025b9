"""The assistant: chat with any LLM over every tool of the host, approvals in the loop.

Built on pydantic-ai; every tool call goes through ``Host.call_tool`` (never pydantic-ai's
own MCP client). Importing this package stays cheap: pydantic-ai loads with ``chat.assistant``.
"""
