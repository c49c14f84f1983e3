"""lares: run a personal cloud from one file."""

import os

__version__ = "0.1.0"

# pydantic looks for plugins by reading the entry points of every installed distribution the
# first time a model is built: about 30 ms of every `lares` start, for plugins lares never uses.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
