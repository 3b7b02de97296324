"""``render(name, data)``: validated, escaped subject, HTML and text for a Lambda.

Each template is compiled once per build version (Mustache closures + a schema
validator) and kept; a call then costs a validation pass and three closure walks.
The snapshot taken at the start of a call pins one build version for all three
parts, so a publish running meanwhile can never mix versions in one email.
"""

from __future__ import annotations

import os
from _thread import allocate_lock
from collections.abc import Mapping

from bbws_mail import precompiled
from bbws_mail._namedtuple import NamedTuple
from bbws_mail.display import neutralise
from bbws_mail.errors import (
    BBWSMailError,
    BrokenTemplateError,
    MessageError,
    SourceNameError,
    TemplateDataError,
    UnknownTemplateError,
)
from bbws_mail.mustache import Template, html_escape
from bbws_mail.names import is_template_name
from bbws_mail.sources import LazyTemplates, PackagedSource, Snapshot, Source, TemplateFiles
from bbws_mail.validate import Validator

TYPE_CHECKING = False  # typing is not imported at run time: see bbws_mail._namedtuple
if TYPE_CHECKING:
    from email.message import EmailMessage
    from typing import Any

    from bbws_mail.headers import Recipients


# Values in a subject: never HTML-escaped, never able to start a line or hide text.
subject_escape = neutralise


def subject_text(rendered: str) -> str:
    """The final subject: single spaces, no edge spaces, and no RFC 2047 ``=?`` opener.

    ``=?`` is broken into ``= ?`` wherever it appears (data, or data next to template
    text), so no mail reader or ``email`` version can take a word of data for an
    encoded word and decode it into something else.
    """
    return " ".join(rendered.split()).replace("=?", "= ?")


# Values in the text part: not HTML-escaped, hiding characters neutralised. The escape
# functions are the neutraliser itself (no wrapper): one call per value rendered.
text_escape = neutralise


def html_text_escape(value: str) -> str:
    """Values in the HTML part: hiding characters neutralised, then HTML-escaped.

    The common value (printable, nothing to escape) is returned after two scans
    without a further call: this runs for every value of every HTML part.
    """
    if not value.isprintable():
        value = neutralise(value)
    if "&" in value or "<" in value or ">" in value or '"' in value or "'" in value:
        return html_escape(value)
    return value


class RenderedEmail(NamedTuple):
    """One rendered email, ready to send."""

    template: str
    build_version: str
    subject: str
    html: str
    text: str

    def to_message(self, *, sender: Recipients, to: Recipients,
                   reply_to: Recipients | None = None) -> EmailMessage:
        """A multipart/alternative message (text first, then HTML, as RFC 2046 orders them).

        ``sender``, ``to`` and ``reply_to`` are each an address string (exactly one
        mailbox: ``addr`` or ``Name <addr>``), a :class:`bbws_mail.headers.Address`,
        a ``{"name": ..., "address": ...}`` mapping, or a list of these (one From).
        Subject, From, To, Reply-To and X-BBWS-Template are written by
        :mod:`bbws_mail.headers`, byte for byte on every CPython; an impossible
        address or name (none, a line break, an over-long name) is a MessageError
        naming the field.
        """
        from email.message import EmailMessage
        from email.policy import SMTP
        from email.utils import formatdate, make_msgid

        from bbws_mail import headers

        # Everything is checked before the message exists: a refusal builds nothing.
        headers.check_text("text part", self.text)
        headers.check_text("HTML part", self.html)
        senders = headers.mailboxes(sender, "From")
        if len(senders) != 1:
            raise MessageError(f"From must be exactly one address, got {len(senders)}")
        origin = senders[0]
        fields = [
            headers.unstructured("Subject", self.subject),
            headers.addresses("From", [origin]),
            headers.addresses("To", to),
        ]
        if reply_to is not None:
            fields.append(headers.addresses("Reply-To", reply_to))
        fields.append(headers.token("X-BBWS-Template",
                                    f"{self.template}; build={self.build_version}"))
        msg = EmailMessage(policy=SMTP)
        for field in fields[:-1]:
            msg[field.name] = field
        # Date and Message-ID as a sending MTA would set them: without them SpamAssassin
        # adds MISSING_DATE + MISSING_MID (3.3 points, measured).
        domain = origin.addr.rpartition("@")[2]
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=domain)
        msg[fields[-1].name] = fields[-1]
        msg.set_content(self.text)
        msg.add_alternative(self.html, subtype="html")
        return msg


class CompiledTemplate:
    """The three Mustache parts and the validator of one template, compiled once."""

    __slots__ = ("html", "name", "subject", "text", "validator")

    def __init__(self, files: TemplateFiles, code_dir: str | None = None) -> None:
        self.name = files.name
        # a packaged build carries code generated at build time; used where it still fits
        module = precompiled.load(code_dir, files.name) if code_dir else None
        self.html = Template(files.html, escape=html_text_escape,
                             precompiled=precompiled.code_for(module, "html"))
        self.text = Template(files.text, escape=text_escape,
                             precompiled=precompiled.code_for(module, "text"))
        self.subject = Template(files.subject, escape=subject_escape,
                                precompiled=precompiled.code_for(module, "subject"))
        self.validator = Validator(files.schema,
                                   precompiled=precompiled.code_for(module, "check"))


_cache: dict[tuple[str, str, str], CompiledTemplate] = {}
_cache_lock = allocate_lock()
_default_source: Source | None = None
_sources: dict[tuple[str, ...], Source] = {}
_sources_lock = allocate_lock()
SOURCE_KINDS = ("packaged", "s3")
SOURCE_ENV = "BBWS_TEMPLATE_SOURCE"  # names the default source: one of SOURCE_KINDS


def configured_source_kind() -> str:
    """The source kind ``BBWS_TEMPLATE_SOURCE`` names: ``packaged`` when unset or empty.

    The one reading of the variable, for ``render()`` and the command line alike; a
    value naming no source is a :class:`SourceNameError`.
    """
    kind = os.environ.get(SOURCE_ENV, "").strip().lower() or "packaged"
    return _source_kind(kind, SOURCE_ENV)


def default_source() -> Source:
    """Packaged build unless ``BBWS_TEMPLATE_SOURCE=s3`` (then the S3 bucket of ``BBWS_ENV``)."""
    global _default_source
    if _default_source is None:
        _default_source = _make_source(configured_source_kind(), SOURCE_ENV)
    return _default_source


def _source_kind(kind: str, where: str) -> str:
    if kind in SOURCE_KINDS:
        return kind
    if kind.strip().lower() in SOURCE_KINDS:
        why = "has surrounding spaces" if kind != kind.strip() else "is not in lower case"
        raise SourceNameError(f"{where}: the template source name {why}; write exactly "
                              "'packaged' or 's3'")
    raise SourceNameError(f"{where}: unknown template source (a {len(kind)}-character string); "
                          "use 'packaged' (the build inside the package) or 's3' (the bucket "
                          "of BBWS_ENV)")


def _make_source(kind: str, where: str = "render(source=...)") -> Source:
    """The shared source of ``kind`` for the current environment settings.

    Sources are kept per (kind, env, bucket, region): ``render(..., source="s3")`` on
    every call reuses one reader and its loaded templates instead of re-reading S3.
    """
    kind = _source_kind(kind, where)
    env = os.environ.get("BBWS_ENV", "")
    key: tuple[str, ...] = (kind, env)
    if kind == "s3":
        key += (os.environ.get("BBWS_TEMPLATE_BUCKET", ""), os.environ.get("AWS_REGION", ""))
    found = _sources.get(key)
    if found is not None:
        return found
    with _sources_lock:
        found = _sources.get(key)
        if found is None:
            if kind == "packaged":
                found = PackagedSource()
            else:
                from bbws_mail.s3source import S3Source

                found = S3Source()
            _sources[key] = found
    return found


def compiled(snapshot: Snapshot, name: str) -> CompiledTemplate:
    """The compiled template ``name`` of ``snapshot`` (compiled on first use).

    Files that cannot be read or compiled are a BrokenTemplateError, on every call.
    A snapshot with lazily loaded templates keeps its compiled templates itself, so
    they go when the snapshot goes (a refreshed S3 source takes over the unchanged
    ones); in-memory snapshots (preview, checks) use a shared cache that
    :func:`forget` trims.
    """
    templates = snapshot.templates
    if not is_template_name(name):  # a name from a queue body may be anything
        raise UnknownTemplateError(name, list(templates))
    try:
        if isinstance(templates, LazyTemplates):
            if name not in templates:
                raise UnknownTemplateError(name, list(templates))
            code_dir = templates.code_dir
            found: CompiledTemplate = templates.compiled(
                name, lambda files: CompiledTemplate(files, code_dir))
            return found
        key = (snapshot.origin, snapshot.build_version, name)
        found_ = _cache.get(key)
        if found_ is not None:
            return found_
        files = templates.get(name)
        if files is None:
            raise UnknownTemplateError(name, list(templates))
        with _cache_lock:
            found_ = _cache.get(key)
            if found_ is None:
                found_ = _cache[key] = CompiledTemplate(files)
        return found_
    except BBWSMailError:
        raise
    except Exception as exc:
        # A bundle's text and schema are data: chevron, the code generators and
        # Python's limits (nesting, recursion) refuse malformed ones in their own ways.
        raise BrokenTemplateError(name, snapshot.origin, exc) from None


def forget(origin: str, *, keep: set[str] | frozenset[str] = frozenset()) -> None:
    """Drop compiled in-memory templates of ``origin`` except the build versions in ``keep``.

    Only in-memory snapshots (the designer preview, whose builds change on every save)
    need this; packaged and S3 snapshots carry their own compiled templates.
    """
    with _cache_lock:
        for key in [k for k in _cache if k[0] == origin and k[1] not in keep]:
            _cache.pop(key, None)


def render(name: str, data: Mapping[str, Any], *, source: Source | str | None = None
           ) -> RenderedEmail:
    """Validate ``data`` against template ``name``'s schema and render all three parts.

    Raises UnknownTemplateError (listing the known names) or TemplateDataError
    (listing every problem with its JSON path); renders nothing in either case.
    """
    if source is None:
        src = default_source()
    elif isinstance(source, str):
        src = _make_source(source)
    else:
        src = source
    snapshot = src.snapshot()
    templates = snapshot.templates
    # the common case, a template this snapshot has compiled already, in one lookup
    tpl = (templates.ready(name) if name.__class__ is str and isinstance(templates, LazyTemplates)
           else None)
    if tpl is None:
        tpl = compiled(snapshot, name)
    problems = tpl.validator.problems(data)
    if problems:
        raise TemplateDataError(name, problems, problems.more)
    globals_ = {"assetBaseUrl": snapshot.asset_base_url}
    return RenderedEmail(
        template=name,
        build_version=snapshot.build_version,
        subject=subject_text(tpl.subject.render(data, globals_)),
        html=tpl.html.render(data, globals_),
        text=tpl.text.render(data, globals_),
    )


def template_names(source: Source | None = None) -> list[str]:
    """The names of the templates in the current build."""
    return sorted((source or default_source()).snapshot().templates)
