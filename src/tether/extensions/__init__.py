"""Local extensions: MCPB bundles, and the runner that keeps their servers going over stdio.

Kept light on purpose: import the modules you need (``tether.extensions.runner``).
"""
