"""`lares import`: a compose homelab someone runs by hand, turned into a blueprint.

The flow: :mod:`load` finds the compose projects (folders, files, or the engine's running
containers) and loads each with the Compose v2 binary, resolved and as written;
:mod:`mapping` matches each service to a catalog app, and :mod:`custom` makes a custom
app file of the others;
:mod:`credentials` turns literal passwords into lares secrets with the same value;
:mod:`assemble` writes the blueprint's network, paths and stacks; :mod:`proof` renders the
result back and compares it with the original, service by service, and audits both.
:mod:`actions` ties them together and writes the output. Nothing is deployed.
"""
