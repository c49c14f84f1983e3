"""`lares doctor`: is this machine ready for the blueprint?"""

from __future__ import annotations

from lares.cli import app
from lares.commands.options import CheckOpt, Shared, load_blueprint, printer, uses
from lares.errors import Failed

#: The doctor's severities, worst first, as its summary counts them.
STATUSES = ("error", "warning", "unknown", "ok")


@app.command("doctor")
@uses("file", "as_json")
def doctor_cmd(check: CheckOpt = None, *, shared: Shared) -> None:
    """Check that this machine is ready for the blueprint: CPU, GPU, memory, Docker, ports,
    kernel, free space, clock, DNS and backups."""
    from lares.host.doctor import doctor, selected
    from lares.plan import make_context

    wanted = list(check or ())
    selected(wanted)  # an unknown check is a usage error before anything is read
    loaded = load_blueprint(shared.file)
    findings = doctor(make_context(loaded).system, only=wanted)
    out = printer(shared.as_json)
    errors = [f for f in findings if f.status == "error"]
    if shared.as_json:
        out.json(
            {
                "findings": [f.to_dict() for f in findings],
                "summary": {s: sum(1 for f in findings if f.status == s) for s in STATUSES},
            }
        )
    else:
        for f in sorted(findings, key=lambda f: f.check):
            out.finding(f.status, f.render())
        counts = {s: sum(1 for f in findings if f.status == s) for s in STATUSES}
        out.line()
        out.line(
            f"{counts['error']} problems, {counts['warning']} warnings, "
            f"{counts['unknown']} unknown, {counts['ok']} fine",
            style="red bold" if errors else "green bold",
        )
    if errors:
        raise Failed()  # the findings say why
