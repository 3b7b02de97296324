"""Project configuration from ``bbws-mail.toml``: one table per environment.

Maizzle-style: ``[defaults]`` holds values every environment inherits and
``[env.<name>]`` overrides them. Missing file or keys fall back to the defaults
below, so a fresh checkout works with no configuration at all.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbws_mail.errors import Location, TemplateError
from bbws_mail.layout import CATEGORIES

ENVIRONMENTS = ("dev", "sit", "prod")


@dataclass(frozen=True)
class EnvConfig:
    name: str
    bucket: str
    region: str = "af-south-1"
    asset_base_url: str = "https://assets.bbws.co.za/email"
    requires_approval: bool = False
    replica_region: str = ""


@dataclass(frozen=True)
class Config:
    root: Path
    envs: dict[str, EnvConfig] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)  # the [templates] table
    check: dict[str, Any] = field(default_factory=dict)  # the [check] table (quality gates)

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates_src"

    @property
    def schemas_dir(self) -> Path:
        return self.root / "schemas"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    def env(self, name: str) -> EnvConfig:
        try:
            return self.envs[name]
        except KeyError:
            known = ", ".join(sorted(self.envs))
            raise ValueError(f"unknown environment {name!r}; known: {known}") from None

    def category(self, template: str) -> str:
        """The S3 category (key prefix) of a template, stated for it by name in ``[templates]``.

        No matching by name prefix: IAM, replication and lifecycle rules work by these
        prefixes, so a new family (``order_refund``) must be filed on purpose, not inherit
        whatever ``order`` has.
        """
        try:
            return self.templates[template]
        except KeyError:
            raise TemplateError(
                Location(f"templates_src/{template}.mjml"),
                f"template {template!r} has no category in bbws-mail.toml [templates]",
                f'add `{template} = "<category>"` there, with one of: {", ".join(CATEGORIES)}',
            ) from None


def find_root(start: Path | None = None) -> Path:
    """The project root: the nearest folder with bbws-mail.toml or templates_src/."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "bbws-mail.toml").is_file() or (folder / "templates_src").is_dir():
            return folder
    return here


def load(root: Path | None = None) -> Config:
    """Read ``bbws-mail.toml`` under ``root`` (found from the cwd when not given)."""
    root = find_root(root)
    path = root / "bbws-mail.toml"
    data: dict[str, Any] = {}
    if path.is_file():
        with path.open("rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(f"{path}: {exc}") from None
    defaults = dict(data.get("defaults", {}))
    env_tables: dict[str, Any] = {name: {} for name in ENVIRONMENTS}
    env_tables.update(data.get("env", {}))
    envs: dict[str, EnvConfig] = {}
    for name, table in env_tables.items():
        merged = {**defaults, **table}
        merged.setdefault("bucket", f"bbws-templates-{name}")
        merged.setdefault("requires_approval", name == "prod")
        allowed = EnvConfig.__dataclass_fields__
        unknown = set(merged) - set(allowed)
        if unknown:
            keys = ", ".join(sorted(unknown))
            raise ValueError(f"{path}: unknown key(s) in [env.{name}]: {keys}")
        merged["name"] = name
        envs[name] = EnvConfig(**merged)
    if "categories" in data:
        raise ValueError(f"{path}: [categories] (by name prefix) is replaced by [templates]: "
                         "one line per template, name = one of " + ", ".join(CATEGORIES))
    templates = dict(data.get("templates", {}))
    for name, category in templates.items():
        if category not in CATEGORIES:
            raise ValueError(f"{path}: [templates] {name}: category must be one of "
                             f"{', '.join(CATEGORIES)} (got a {type(category).__name__} "
                             f"of {len(str(category))} characters)")
    return Config(root, envs, templates, dict(data.get("check", {})))
