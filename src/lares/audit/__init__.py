"""`lares audit`: one rule table, checked on compose files, on running containers, and on the
difference between what lares rendered and what runs.

:mod:`.model` maps a Compose service and a ``docker inspect`` result onto one container model;
:mod:`.rules` holds the rule families; :mod:`.targets` loads each target (files as the Compose
binary resolves them, read in Python by :mod:`.native` where they need nothing more; the
engine; lares's own render); :mod:`.engine` runs the rules, weighs each finding by exposure and
marks the accepted ones; :mod:`.sarif` writes SARIF 2.1.0.
"""
