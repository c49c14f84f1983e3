"""SARIF 2.1.0: the audit's report for code-scanning services (GitHub, GitLab, Azure DevOps).

One run, the whole rule table as the driver's rules, one result per finding; an accepted
finding carries a ``suppressions`` entry whose justification is the catalog's or the
blueprint's reason, so a scanner shows it as dismissed with that reason instead of open.
"""

from __future__ import annotations

from typing import Any

from lares import __version__
from lares.audit.engine import AuditFinding, Report
from lares.audit.rules import Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
#: GitHub's security-severity scale (0–10) for each severity.
_SCORE = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.5"}


def _rule(rule: Rule) -> dict[str, Any]:
    tags = ["security", rule.target]
    if rule.cis:
        tags.append(f"CIS-Docker-1.6-{rule.cis}")
    tags += list(rule.compose_lint)
    return {
        "id": rule.id,
        "name": "".join(w.capitalize() for w in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": f"Checks {rule.checks}. {rule.why.capitalize()}."},
        "help": {"text": f"Fix: {rule.fix}", "markdown": f"**Fix:** {rule.fix}"},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"tags": tags, "security-severity": _SCORE[rule.severity]},
    }


def _location(f: AuditFinding) -> dict[str, Any]:
    logical = {"name": f.container or f.app, "kind": "resource"}
    loc: dict[str, Any] = {"logicalLocations": [logical]}
    if f.source and f.source != "engine":
        physical: dict[str, Any] = {"artifactLocation": {"uri": f.source}}
        if f.line:
            physical["region"] = {"startLine": f.line}
        loc["physicalLocation"] = physical
    return loc


def _result(f: AuditFinding, index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index,
        "level": _LEVEL[f.severity],
        "message": {"text": f"{f.app}: {f.message}. Fix: {f.fix}"},
        "locations": [_location(f)],
        "properties": {
            "severity": f.severity,
            "security-severity": _SCORE[f.severity],
            "app": f.app,
            "raised": list(f.raised),
        },
    }
    if f.accepted is not None:
        result["suppressions"] = [
            {
                "kind": "external" if f.accepted_by == "catalog" else "inSource",
                "status": "accepted",
                "justification": f.accepted,
            }
        ]
    return result


def to_sarif(report: Report) -> dict[str, Any]:
    """The report as one SARIF 2.1.0 log."""
    rules = list(report.rules.values())
    index = {r.id: i for i, r in enumerate(rules)}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "lares audit",
                        "version": __version__,
                        "rules": [_rule(r) for r in rules],
                    }
                },
                "results": [_result(f, index[f.rule]) for f in report.findings],
                "properties": {"targets": list(report.targets), "notes": list(report.notes)},
            }
        ],
    }
