"""Project configuration from ``bbws-mail.toml``: this module is its one reader.

Maizzle-style: ``[defaults]`` holds values every environment inherits and
``[env.<name>]`` overrides them; ``[templates]`` files each template under its S3
category; ``[check]`` sets the quality gates; ``[company]`` states the company's legal
identity once. Every table is validated here into typed settings, and every problem is a
ConfigError at file:line (``key_line`` is the one locator). Missing file or keys fall back
to the defaults below, so a fresh checkout works with no configuration at all.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bbws_mail import names
from bbws_mail.buildlayout import DEFAULT_ASSET_BASE_URL
from bbws_mail.errors import ConfigError, Location, TemplateError
from bbws_mail.layout import CATEGORIES

CONFIG_FILE = "bbws-mail.toml"
ENVIRONMENTS = ("dev", "sit", "prod")
# Changes to these always need approval: no bbws-mail.toml setting turns it off.
APPROVAL_REQUIRED = ("prod",)


# Which EnvConfig fields a reader (a Lambda) may see, and which only the tools may: deploy
# settings name who may write, so they never travel inside a package.
READER_KEYS = ("bucket", "region", "replica_bucket", "replica_region", "asset_base_url")
DEPLOY_KEYS = ("profile", "role_arn", "external_id", "ses_role_arn")
# The tags the design puts on every resource (BackupPolicy is for tables only). Environment
# is each environment's name; the others come from [tags], with these defaults.
REQUIRED_TAGS = ("Environment", "Project", "Owner", "CostCenter", "ManagedBy", "Component")
DEFAULT_TAGS = {"Project": "bbws", "Owner": "bbws-platform", "CostCenter": "bbws-platform",
                "ManagedBy": "bbws-mail", "Component": "email-templates"}

_ROLE_ARN = re.compile(r"arn:aws:iam::([0-9]{12}):role/[A-Za-z0-9+=,.@_/-]{1,512}\Z")
_EXTERNAL_ID = re.compile(r"[A-Za-z0-9+=,.@:/_-]{2,1224}\Z")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]\Z")
_CONFIG_SET = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_TAG_VALUE = re.compile(r"[\w .:/=+@-]{1,256}\Z")
_BUCKET = re.compile(r"(?!xn--)(?!.*-s3alias\Z)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")


@dataclass(frozen=True)
class EnvConfig:
    """One environment: its bucket and region (one AWS account each), how the tools reach it
    (``profile``, ``role_arn``, ``external_id``) and its disaster-recovery replica."""

    name: str
    bucket: str
    region: str = "af-south-1"
    asset_base_url: str = DEFAULT_ASSET_BASE_URL
    requires_approval: bool = False
    replica_bucket: str = ""
    replica_region: str = ""
    profile: str = ""
    role_arn: str = ""
    external_id: str = ""
    ses_identity: str = ""
    # The SES configuration set `send` names (bounce and complaint events), and the role
    # that reads SES in the account the Lambdas send from (default: role_arn's account).
    ses_configuration_set: str = ""
    ses_role_arn: str = ""

    @property
    def account_id(self) -> str:
        """The AWS account named by ``role_arn`` ('' when no role is configured)."""
        match = _ROLE_ARN.match(self.role_arn)
        return match.group(1) if match else ""

    @property
    def has_replica(self) -> bool:
        return bool(self.replica_bucket)

    def ses_access(self) -> EnvConfig:
        """This environment as the tools reach SES: through ``ses_role_arn`` when the
        Lambdas send from another account than the bucket's."""
        if not self.ses_role_arn or self.ses_role_arn == self.role_arn:
            return self
        return replace(self, role_arn=self.ses_role_arn, external_id="")

    def reader_settings(self) -> dict[str, str]:
        """What a reader may know about this environment: never profiles, roles or ids."""
        return {key: getattr(self, key) for key in READER_KEYS}


# The company's legal identity, ``[company]``: what a tax invoice and a commercial email
# must show (name, address, registration and VAT numbers), stated once. Templates show
# each as a build-time token, ``${company.<key>}`` (bbws_mail.pipeline.brand), and the
# legal-footer check requires every one that is set in each email (bbws_mail.pipeline.rules.links).
COMPANY_KEYS = ("name", "trading_name", "address", "registration", "vat_number")
_VAT_NUMBER = re.compile(r"4[0-9]{9}\Z")  # SARS: ten digits, the first a 4
_REGISTRATION = re.compile(r"[0-9]{4}/[0-9]{6}/[0-9]{2}\Z")  # CIPC: YYYY/NNNNNN/NN


@dataclass(frozen=True)
class Company:
    """The ``[company]`` table: each fact, and the ``file:line`` where it is set."""

    values: dict[str, str] = field(default_factory=dict)
    lines: dict[str, str] = field(default_factory=dict)

    def facts(self) -> dict[str, str]:
        """Key -> value of every fact that is set, in the order of ``COMPANY_KEYS``."""
        return {key: self.values[key] for key in COMPANY_KEYS if self.values.get(key)}

    def where(self, key: str) -> str:
        """``file:line`` of the line that sets ``key``."""
        return self.lines.get(key, CONFIG_FILE)


@dataclass(frozen=True)
class CheckSettings:
    """The ``[check]`` table: the quality gates' thresholds.

    The build reads it too (the worst-case size budget), so it is validated here with the
    rest of the file: a wrong key or value is a ConfigError at its line for every command,
    never a rule that silently uses a default.
    """

    size_warn_kb: float = 80
    size_fail_kb: float = 102  # Gmail clips a message's HTML here
    worst_case_fail_kb: float = 0  # the build's worst-case budget; 0: size_fail_kb
    spam_max_score: float = 2.0

    @property
    def worst_case_budget_kb(self) -> float:
        """What the largest schema-valid rendering may weigh (``pipeline.bounds``)."""
        return self.worst_case_fail_kb or self.size_fail_kb


# [check] keys that may be 0 (the others are sizes, which must be more than 0)
_MAY_BE_ZERO = ("worst_case_fail_kb", "spam_max_score")


@dataclass(frozen=True)
class Config:
    root: Path
    envs: dict[str, EnvConfig] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)  # the [templates] table
    check: CheckSettings = field(default_factory=CheckSettings)  # the [check] table
    company: Company = field(default_factory=Company)  # the [company] table
    tags: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TAGS))  # [tags]

    def tags_for(self, env: str) -> dict[str, str]:
        """The tags every resource of ``env`` must carry, in REQUIRED_TAGS order."""
        values = {**DEFAULT_TAGS, **self.tags, "Environment": self.env(env).name}
        return {key: values[key] for key in REQUIRED_TAGS}

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates_src"

    @property
    def schemas_dir(self) -> Path:
        return self.root / "schemas"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def reports_dir(self) -> Path:
        """What the tools write for people to look at (visual report, rendered HTML);
        git-ignored, never published."""
        return self.root / "reports"

    def env(self, name: str) -> EnvConfig:
        try:
            return self.envs[name]
        except KeyError:
            known = ", ".join(sorted(self.envs))
            raise ConfigError(f"unknown environment {name!r}; known: {known}") from None

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
        if (folder / CONFIG_FILE).is_file() or (folder / "templates_src").is_dir():
            return folder
    return here


def toml_problem(message: str) -> tuple[int, int, str]:
    """(line, column, what) from tomllib's ``what (at line L, column C)`` (0, 0 when the
    message names no position, e.g. "at end of document")."""
    found = re.search(r" \(at line (\d+), column (\d+)\)$", message)
    if found is None:
        return 0, 0, message
    return int(found[1]), int(found[2]), message[:found.start()]


def _toml_error(path: Path, message: str) -> str:
    """``file:line:column: what`` for a TOML syntax error."""
    line, column, what = toml_problem(message)
    return f"{path}:{line}:{column}: {what}" if line else f"{path}: {what}"


def load(root: Path | None = None) -> Config:
    """Read ``bbws-mail.toml`` under ``root`` (found from the cwd when not given).

    Anything wrong with the file is a ConfigError naming file:line and the fix.
    """
    root = find_root(root)
    path = root / CONFIG_FILE
    data: dict[str, Any] = {}
    text = ""
    if path.is_file():
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 (byte {exc.start + 1}); save it as UTF-8"
                              ) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(_toml_error(path, str(exc))) from None
    if "categories" in data:
        raise ConfigError(f"{_at(path, text, 'categories')}: [categories] (by name prefix) is "
                          "replaced by [templates]: one line per template, name = one of "
                          + ", ".join(CATEGORIES))
    _check_tables(data, path, text)
    defaults = data.get("defaults", {})
    env_tables: dict[str, Any] = {name: {} for name in ENVIRONMENTS}
    env_tables.update(data.get("env", {}))
    for name, table in env_tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{_at(path, text, 'env', name)}: [env] {name} must be a table "
                              f"([env.{name}]), found {_kind(table)}")
    envs: dict[str, EnvConfig] = {}
    for name, table in env_tables.items():
        merged = {**defaults, **table}
        merged.setdefault("bucket", f"bbws-templates-{name}")
        merged.setdefault("requires_approval", name == "prod")
        allowed = EnvConfig.__dataclass_fields__
        unknown = sorted(set(merged) - set(allowed))
        if unknown:
            first = unknown[0]
            at = _at(path, text, f"env.{name}" if first in table else "defaults", first)
            raise ConfigError(f"{at}: unknown key(s) in [env.{name}]: {', '.join(unknown)}")
        merged["name"] = name
        envs[name] = _checked_env(merged, path, text, own=table)
    _check_approval_boundary(envs, env_tables, path, text)
    templates = data.get("templates", {})
    for name, category in templates.items():
        problem = names.problem(name)
        if problem:
            raise ConfigError(f"{_at(path, text, 'templates', name)}: [templates] {problem}; "
                              "the key is the file name of templates_src/<name>.mjml")
        if category not in CATEGORIES:
            raise ConfigError(f"{_at(path, text, 'templates', name)}: [templates] {name}: "
                              f"category must be one of {', '.join(CATEGORIES)} (got a "
                              f"{type(category).__name__} of {len(str(category))} characters)")
    return Config(root, envs, dict(templates), _checked_check(data.get("check", {}), path, text),
                  _company(data.get("company", {}), path, text),
                  _checked_tags(data.get("tags", {}), path, text))


def _company(table: dict[str, Any], path: Path, text: str) -> Company:
    """The ``[company]`` table checked: known keys, one-line strings, well-formed numbers.

    Its values are written into template sources at build time, so none may contain
    Mustache or token syntax; HTML in them is escaped where they land.
    """
    import difflib

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{_at(path, text, 'company', key)}: [company] {problem}")

    for key in table:
        if key not in COMPANY_KEYS:
            close = difflib.get_close_matches(key, COMPANY_KEYS, n=1)
            raise fail(key, f"unknown key {key}" + (f" (did you mean {close[0]}?)" if close
                                                     else f"; known: {', '.join(COMPANY_KEYS)}"))
    for key, value in table.items():
        if not isinstance(value, str):
            raise fail(key, f"{key}: expected a string, found {_kind(value)}")
        if "\n" in value or "\r" in value:
            raise fail(key, f"{key}: must be one line")
        if any(mark in value for mark in ("{{", "}}", "${")):
            raise fail(key, f"{key}: may not contain {{{{, }}}} or ${{ (it is written into "
                       "the templates)")
    vat, registration = table.get("vat_number", ""), table.get("registration", "")
    if vat and not _VAT_NUMBER.match(vat):
        raise fail("vat_number", f"vat_number: a South African VAT number is 10 digits "
                   f"starting with 4 (found {len(vat)} characters)")
    if registration and not _REGISTRATION.match(registration):
        raise fail("registration", "registration: a CIPC registration number reads "
                   f"YYYY/NNNNNN/NN (found {len(registration)} characters)")
    lines = {key: f"{path.name}:{key_line(text, 'company', key)}" for key in table}
    return Company(dict(table), lines)


def _checked_tags(table: dict[str, Any], path: Path, text: str) -> dict[str, str]:
    """The [tags] table: values for the required tags other than Environment."""
    for key, value in table.items():
        at = _at(path, text, "tags", key)
        if key == "Environment":
            raise ConfigError(f"{at}: [tags] Environment is set from the environment's name; "
                              "remove this line")
        if key not in REQUIRED_TAGS:
            raise ConfigError(f"{at}: [tags]: unknown tag ({len(key)} characters); the "
                              f"design's tags are {', '.join(REQUIRED_TAGS[1:])}")
        if not isinstance(value, str):
            raise ConfigError(f"{at}: [tags] {key}: expected a string, found {_kind(value)}")
        if not _TAG_VALUE.match(value):
            raise ConfigError(f"{at}: [tags] {key}: must be 1-256 characters of letters, "
                              f"digits, spaces and _ . : / = + - @ (found {len(value)})")
    return {**DEFAULT_TAGS, **table}


_KINDS = {str: "a string", bool: "true or false"}


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


def key_line(text: str, section: str, key: str = "") -> int:
    """The line that sets ``key`` in table ``section`` of TOML ``text`` (``section`` "": the
    top level), or with no ``key`` the table's header line; 0 when there is none.

    The one place that maps a TOML key to its line (``bbws-mail.toml`` here, ``brand.toml``
    in ``pipeline.brand``): tomllib keeps no positions, and every error names the line.
    """
    header = re.compile(r"\s*\[\s*" + re.escape(section).replace(r"\.", r"\s*\.\s*")
                        + r"\s*\]")
    quoted = re.escape(key)  # a key may be written bare or quoted ("refund-receipt" = ...)
    assign = re.compile(rf"\s*(?:{quoted}|\"{quoted}\"|'{quoted}')\s*=")
    inside = section == ""
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("["):
            inside = bool(header.match(line))
            if inside and not key:
                return number
        elif inside and key and assign.match(line):
            return number
    return 0


def _at(path: Path, text: str, section: str, key: str = "") -> str:
    """``file:line`` of ``key`` in ``section`` (or of the table), the file alone if not found."""
    found = key_line(text, section, key)
    return f"{path}:{found}" if found else str(path)


# the tables of bbws-mail.toml; anything else is a typo or a setting that does nothing
TABLES = ("defaults", "env", "templates", "check", "company", "tags")


def _check_tables(data: dict[str, Any], path: Path, text: str) -> None:
    """A ConfigError for a table this module does not know, or a table that is not one."""
    import difflib

    for name, value in data.items():
        if name not in TABLES:
            close = difflib.get_close_matches(name, TABLES, n=1)
            at = _at(path, text, name) if isinstance(value, dict) else _at(path, text, "", name)
            raise ConfigError(f"{at}: unknown table [{name}]" + (
                f" (did you mean [{close[0]}]?)" if close else f"; known: {', '.join(TABLES)}"))
        if not isinstance(value, dict):
            raise ConfigError(f"{_at(path, text, '', name)}: {name} must be a table "
                              f"([{name}]), found {_kind(value)}")


def _where(path: Path, text: str, env: str, key: str, in_env: bool) -> str:
    """``file:line: [env.E] key`` for the line that sets ``key`` (in [env.E] or [defaults])."""
    section = f"env.{env}" if in_env else "defaults"
    found = key_line(text, section, key)
    return f"{path}:{found}: [{section}] {key}" if found else f"{path}: [env.{env}] {key}"


def _checked_check(table: dict[str, Any], path: Path, text: str) -> CheckSettings:
    """The ``[check]`` table as CheckSettings, or a ConfigError at the line to fix."""
    import difflib

    def at(key: str) -> str:
        return _at(path, text, "check", key)

    keys = sorted(f.name for f in fields(CheckSettings))
    unknown = sorted(set(table) - set(keys))
    if "company_address" in unknown:
        raise ConfigError(f"{at('company_address')}: [check] company_address: the company's "
                          "address is stated once, as address in the [company] table")
    if unknown:
        close = difflib.get_close_matches(unknown[0], keys, n=1)
        raise ConfigError(f"{at(unknown[0])}: unknown key(s) in [check]: {', '.join(unknown)}"
                          + (f" (did you mean {close[0]}?)" if close else
                             f"; known: {', '.join(keys)}"))
    defaults = CheckSettings()
    wrong = sorted(k for k, v in table.items() if not _same_kind(v, getattr(defaults, k)))
    if wrong:
        raise ConfigError(f"{at(wrong[0])}: [check] {', '.join(wrong)} has the wrong type (a "
                          "number for sizes and scores)")
    for key, value in sorted(table.items()):
        zero_ok = key in _MAY_BE_ZERO
        if isinstance(value, int | float) and (value < 0 or (value == 0 and not zero_ok)):
            least = "0 or more" if zero_ok else "more than 0"
            raise ConfigError(f"{at(key)}: [check] {key} must be {least}")
    return CheckSettings(**table)


def _same_kind(value: Any, default: Any) -> bool:
    """A [check] value of its default's kind: a number (not true/false) for numbers."""
    if isinstance(value, bool):
        return False  # no [check] key is a switch
    if isinstance(default, int | float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _checked_env(merged: dict[str, Any], path: Path, text: str,
                 own: dict[str, Any]) -> EnvConfig:
    """An EnvConfig, or a ConfigError naming file:line, the key, what is wrong and the fix."""
    name = merged["name"]

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{_where(path, text, name, key, key in own)}: {problem}")

    for f in fields(EnvConfig):
        if f.name in merged and f.name != "name":
            want = bool if f.name == "requires_approval" else str
            value = merged[f.name]
            if not isinstance(value, want):
                raise fail(f.name, f"expected {_KINDS[want]}, found {_kind(value)}")
    env = EnvConfig(**merged)
    if not _BUCKET.match(env.bucket):
        raise fail("bucket", "not a valid S3 bucket name (3-63 lowercase letters, digits, "
                   "dots and hyphens)")
    for key in ("region", "replica_region"):
        value = getattr(env, key)
        if value and not _REGION.match(value):
            raise fail(key, f"not an AWS region name ({len(value)} characters; e.g. eu-west-1)")
    if env.role_arn and not env.account_id:
        raise fail("role_arn", "not an IAM role ARN: write "
                   "arn:aws:iam::<12-digit account id>:role/<role name>")
    if env.ses_role_arn and not _ROLE_ARN.match(env.ses_role_arn):
        raise fail("ses_role_arn", "not an IAM role ARN: write "
                   "arn:aws:iam::<12-digit account id>:role/<role name>")
    if env.ses_configuration_set and not env.ses_identity:
        raise fail("ses_configuration_set", "a configuration set is checked with the "
                   "identity that sends through it: set ses_identity too, or remove it")
    if env.ses_configuration_set and not _CONFIG_SET.match(env.ses_configuration_set):
        raise fail("ses_configuration_set", "must be 1-64 letters, digits, _ and - (found "
                   f"{len(env.ses_configuration_set)} characters)")
    if env.external_id and not env.role_arn:
        raise fail("external_id", "an external id only applies when assuming a role: "
                   "set role_arn too, or remove it")
    if env.external_id and not _EXTERNAL_ID.match(env.external_id):
        raise fail("external_id", f"must be 2-1224 characters of A-Z a-z 0-9 +=,.@:/_- "
                   f"(found {len(env.external_id)} characters)")
    if name in APPROVAL_REQUIRED and not env.requires_approval:
        raise fail("requires_approval", f"changes to {name} always need approval: remove "
                   "this line (it cannot be turned off)")
    if bool(env.replica_bucket) != bool(env.replica_region):
        missing = "replica_region" if env.replica_bucket else "replica_bucket"
        raise fail("replica_bucket" if env.replica_bucket else "replica_region",
                   f"a replica needs both replica_bucket and replica_region: set {missing}")
    if env.replica_bucket:
        if not _BUCKET.match(env.replica_bucket):
            raise fail("replica_bucket", "not a valid S3 bucket name (3-63 lowercase letters, "
                       "digits, dots and hyphens)")
        if env.replica_region == env.region:
            raise fail("replica_region", "the replica must be in another region than the "
                       "primary (that is what it is for)")
        if env.replica_bucket == env.bucket:
            raise fail("replica_bucket", "must differ from bucket")
    return env


def _check_approval_boundary(envs: dict[str, EnvConfig], tables: dict[str, Any], path: Path,
                             text: str) -> None:
    """An environment without approval may not name the bucket or the account of one with
    it: its unapproved commands would write there (a pointer check only catches this once
    that bucket holds a pointer of its own environment)."""
    guarded = [env for env in envs.values() if env.requires_approval]
    for env in envs.values():
        if env.requires_approval:
            continue

        def at(key: str, env: EnvConfig = env) -> str:
            return _where(path, text, env.name, key, key in tables.get(env.name, {}))

        for other in guarded:
            theirs = {other.bucket, other.replica_bucket} - {""}
            for key in ("bucket", "replica_bucket"):
                if getattr(env, key) in theirs:
                    raise ConfigError(f"{at(key)}: names a bucket of {other.name}, which needs "
                                     f"approval for any change: give {env.name} its own bucket")
            if env.account_id and env.account_id == other.account_id:
                raise ConfigError(f"{at('role_arn')}: a role in {other.name}'s account, which "
                                 "needs approval for any change: use the role of "
                                 f"{env.name}'s own account")
