"""Hands-on labs: pure Python and PyTorch, runnable on their own.

Each lab follows docs/protocol.md: a `<name>.lab.json` manifest, a run folder, and a
`metrics.jsonl` event stream. Nothing here imports studytui or textual.
"""
