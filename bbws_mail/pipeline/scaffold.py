"""``bbws-mail new NAME --category C``: a new template that builds, checks and previews at once.

A template is data: its MJML source, its schema and its example are all it needs
(every test, count and baseline follows ``templates_src/``). The scaffold writes
those three files and records the template's S3 category in ``bbws-mail.toml``'s
``[templates]`` table, editing the text so that comments and layout stay as they are.
The schema bounds every displayed string (``maxLength``) and array (``maxItems``),
which the size budget relies on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bbws_mail import names
from bbws_mail.config import Config
from bbws_mail.errors import ScaffoldError
from bbws_mail.layout import CATEGORIES

TABLE = "templates"


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def source(name: str) -> str:
    """The MJML of a new template: header, greeting, message, steps, button, footer."""
    title = _title(name)
    return f"""<mjml lang="en" dir="ltr">
  <mj-head>
    <mj-title>{title}, {{{{customer.firstName}}}}</mj-title>
    <mj-preview>{{{{message}}}}</mj-preview>
    <mj-include path="partials/head.mjml" />
  </mj-head>
  <mj-body width="600px" background-color="${{brand.page}}" css-class="bb-body">
    <mj-include path="partials/header.mjml" />
    <mj-section mj-class="card" padding-top="16px">
      <mj-column>
        <mj-text mj-class="heading">{title}</mj-text>
        <mj-text>Hi {{{{customer.firstName}}}},</mj-text>
        <mj-text>{{{{message}}}}</mj-text>
        <mj-text>Next steps:<ul>{{{{#steps}}}}<li>{{{{.}}}}</li>{{{{/steps}}}}</ul></mj-text>
        <mj-button href="{{{{actionUrl}}}}" css-class="bb-button">Open the BBWS portal</mj-button>
      </mj-column>
    </mj-section>
    <mj-include path="partials/footer.mjml" />
  </mj-body>
</mjml>
"""


def schema(name: str) -> dict[str, object]:
    """The data contract of the scaffolded source (every string and array bounded)."""
    url = {"type": "string", "format": "uri", "maxLength": 2000}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://schemas.bbws.co.za/mail/{name}.schema.json",
        "title": _title(name),
        "type": "object",
        "additionalProperties": False,
        "required": ["customer", "message", "steps", "actionUrl", "unsubscribeUrl"],
        "properties": {
            "customer": {
                "type": "object",
                "additionalProperties": False,
                "required": ["firstName"],
                "properties": {"firstName": {"type": "string", "minLength": 1,
                                             "maxLength": 120}},
            },
            "message": {"type": "string", "minLength": 1, "maxLength": 500},
            "steps": {"type": "array", "maxItems": 10,
                      "items": {"type": "string", "minLength": 1, "maxLength": 200}},
            "actionUrl": url,
            "unsubscribeUrl": url,
        },
    }


def example(name: str) -> dict[str, object]:
    """Realistic data for the preview, the checks and the screenshots."""
    return {
        "customer": {"firstName": "Thandi"},
        "message": f"This is the {_title(name).lower()} email. Replace this text with what "
                   "the reader needs to know.",
        "steps": ["Open the BBWS portal", "Check the details", "Contact support if anything "
                  "looks wrong"],
        "actionUrl": "https://portal.bbws.co.za/",
        "unsubscribeUrl": "https://portal.bbws.co.za/notifications/unsubscribe?token=c2f1e0b7a9",
    }


def add_to_table(toml_text: str, name: str, category: str) -> str:
    """``toml_text`` with ``name = "category"`` added to ``[templates]`` (made if absent)."""
    line = f'{name} = "{category}"\n'
    lines = toml_text.splitlines(keepends=True)
    header = next((i for i, text in enumerate(lines) if text.strip() == f"[{TABLE}]"), None)
    if header is None:
        sep = "" if not toml_text or toml_text.endswith("\n") else "\n"
        return (f"{toml_text}{sep}\n# S3 category of each template: "
                f"{' | '.join(CATEGORIES)}.\n[{TABLE}]\n{line}")
    end = header + 1
    while end < len(lines) and not lines[end].lstrip().startswith("["):
        end += 1
    # after the table's last key, before the blank lines and comments of the next table
    while end > header + 1 and not re.match(r"\s*[A-Za-z0-9_\"-]+\s*=", lines[end - 1]):
        end -= 1
    if end > 0 and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    return "".join([*lines[:end], line, *lines[end:]])


def scaffold(config: Config, name: str, category: str) -> list[Path]:
    """Write the template, schema and example for ``name``; return the files written."""
    problem = names.problem(name)
    if problem:
        raise ScaffoldError(problem)
    if category not in CATEGORIES:
        raise ScaffoldError(f"unknown category {category!r}: use one of "
                            f"{', '.join(CATEGORIES)}")
    files = {
        config.templates_dir / f"{name}.mjml": source(name),
        config.schemas_dir / f"{name}.schema.json": json.dumps(schema(name), indent=2) + "\n",
        config.schemas_dir / "examples" / f"{name}.json":
            json.dumps(example(name), indent=2) + "\n",
    }
    existing = [p for p in files if p.exists()]
    if existing:
        shown = ", ".join(str(p.relative_to(config.root)) for p in existing)
        raise ScaffoldError(f"{name} already exists ({shown}): pick another name or edit "
                            "those files")
    toml = config.root / "bbws-mail.toml"
    text = toml.read_text(encoding="utf-8") if toml.is_file() else ""
    if re.search(rf"(?m)^\s*{re.escape(name)}\s*=", _table_body(text)):
        raise ScaffoldError(f"bbws-mail.toml already maps {name} in [{TABLE}]: remove that "
                            "line or pick another name")
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    toml.write_text(add_to_table(text, name, category), encoding="utf-8")
    return [*files, toml]


def _table_body(text: str) -> str:
    m = re.search(rf"(?ms)^\[{TABLE}\]\s*$(.*?)(?=^\[|\Z)", text)
    return m.group(1) if m else ""
