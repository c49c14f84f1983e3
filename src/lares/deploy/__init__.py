"""Deploy: write bundles and secrets, drive Docker Compose, record what was applied."""
