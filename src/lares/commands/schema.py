"""`lares schema`: the blueprint's JSON Schema, for editors."""

from __future__ import annotations

import json

from lares.cli import app


@app.command()
def schema() -> None:
    """Print the blueprint's JSON Schema (for editor completion and validation)."""
    from lares.blueprint.model import Blueprint

    doc = Blueprint.model_json_schema(mode="validation")
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "lares.yaml"
    print(json.dumps(doc, indent=2))
