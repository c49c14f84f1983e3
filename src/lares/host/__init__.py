"""The machine lares runs on: is it ready for the blueprint (``lares doctor``)."""
