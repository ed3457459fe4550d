"""studytui: a terminal study desk for learning how large language models work."""

__version__ = "0.1.0"
