"""Doctor checks: one module per topic, found by scanning this package (see lares.host.doctor)."""
