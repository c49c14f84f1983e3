"""Integration tests: a package so its conftest is ``integration.conftest``, not ``conftest``."""
