"""lares: run a personal cloud from one file."""

__version__ = "0.1.0"
