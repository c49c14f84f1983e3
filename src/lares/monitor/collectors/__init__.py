"""Host-health collectors, one module per source.

A collector says what to run and how to read what it printed: each module exposes pure parsers
(text or JSON in, frozen dataclasses out) that never raise on odd input. Whatever a parser does not
understand is kept in an ``unparsed`` field, never dropped, and every report carries a ``health``
value with the ``reasons`` behind it, so an alert rule decides without parsing again.
"""
