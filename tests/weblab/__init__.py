"""Helpers of the dashboard's integration tests (tests/integration/test_web_*.py): a deployed
test homelab with its watcher and `lares serve` running, and an HTTP client that logs in."""
