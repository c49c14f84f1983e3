"""Surviving the lost machine: lares's own state in every repository, the recovery kit,
``lares recover`` on a bare machine.

The flow, in one sentence: every ``lares backup run`` streams lares's state (the blueprint and
its catalog folders, the secrets, the applied revisions and backup records) as a tar into
``restic backup --stdin``, tagged ``lares-state`` (``snapshot.py``); ``lares recovery-kit``
writes down what opens those repositories (``kit.py``); ``lares recover`` takes that kit on a
new machine, finds the newest state snapshot, puts the state back, restores every app's files
and databases and brings the stacks up (``recover.py``).
"""
