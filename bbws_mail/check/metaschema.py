"""schema-meta: every schema file is a valid JSON Schema 2020-12 document.

The build reads the schemas a template references, through the keywords the
runtime validator supports; a ``$defs`` entry nobody references yet, or a keyword the
build does not look at, can still be nonsense (``"type": "strin"``,
``"minLength": -1``) and would only fail the day a template uses it. So each file in
``schemas/`` and ``schemas/defs/`` is validated against the 2020-12 metaschema with
``jsonschema`` (the reference implementation, a ``[build]`` dependency: ``check``
needs that extra anyway; it is not imported by the build, which stays fast, nor by
the runtime). Each problem is reported at the file:line:column of the offending
value, found with the same JSON locator the build's contract errors use.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bbws_mail.pipeline import jsonpos
from bbws_mail.pipeline.rules import finding
from bbws_mail.pipeline.rules.findings import Finding

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SHOWN = 160  # characters of a metaschema message kept (some quote a whole subschema)


def schema_files(schemas_dir: Path) -> list[Path]:
    """The schema documents: ``schemas/*.json`` and ``schemas/defs/*.json`` (not examples)."""
    return sorted(p for folder in (schemas_dir, schemas_dir / "defs")
                  for p in folder.glob("*.json") if p.is_file())


def check(schemas_dir: Path, root: Path) -> list[Finding]:
    """A schema-meta finding for every metaschema violation in every schema file."""
    try:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import best_match
    except ImportError:
        return [finding("schema-meta", "pyproject.toml", "jsonschema is not installed, so "
                        "the schemas cannot be validated against the JSON Schema 2020-12 "
                        "metaschema: install the build extra (pip install -e '.[build]')")]
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    out: list[Finding] = []
    for path in schema_files(schemas_dir):
        shown = os.path.relpath(path, root)
        try:
            text = path.read_bytes().decode("utf-8")
            schema: Any = json.loads(text)
        except UnicodeDecodeError as exc:
            out.append(finding("schema-meta", shown, f"not UTF-8 (byte {exc.start + 1}): save "
                               "it as UTF-8"))
            continue
        except json.JSONDecodeError as exc:
            out.append(finding("schema-meta", f"{shown}:{exc.lineno}:{exc.colno}",
                               f"not valid JSON: {exc.msg}"))
            continue
        if isinstance(schema, dict) and schema.get("$schema") != DRAFT:
            at = jsonpos.member(text, (), "$schema")
            out.append(finding("schema-meta", _at(shown, text, at),
                               f'"$schema" must be "{DRAFT}": the project\'s schemas, its '
                               "validator and this check follow JSON Schema 2020-12"))
        for error in meta.iter_errors(schema):
            leaf = best_match(error.context) if error.context else error
            pointer = tuple(str(p) for p in error.absolute_path)
            message = " ".join(leaf.message.split())
            if len(message) > SHOWN:
                message = message[:SHOWN] + "..."
            out.append(finding(
                "schema-meta", _at(shown, text, jsonpos.value_at(text, pointer)),
                f"#/{'/'.join(pointer)}: {message} (JSON Schema 2020-12 metaschema, keyword "
                f"{error.validator}): fix the value as the 2020-12 specification defines it",
                subject=f"#/{'/'.join(pointer)}"))
    return out


def _at(shown: str, text: str, offset: int | None) -> str:
    if offset is None:
        return shown
    line, column = jsonpos.position(text, offset)
    return f"{shown}:{line}:{column}"
