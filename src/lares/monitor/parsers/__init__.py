"""Pure parsers of what the monitor's sources print, one module per source.

Each parser takes text (or JSON) a tool, file or sysfs attribute gave and returns frozen models;
none runs anything and none raises on odd input: what it does not understand is kept as
:class:`~lares.monitor.parsers.health.Unparsed`. Every report carries a health verdict with its
reasons on one scale (:mod:`lares.monitor.parsers.health`); :mod:`lares.monitor.parsers.values`
makes the models of what a parser collected. They are tested on recorded output
(``tests/data/samples``, ``../shared/samples``); the collectors in :mod:`lares.monitor.collectors`
read the sources and call them.
"""
