"""The build pipeline (needs the ``[build]`` extra); ``STAGES`` states its order, once.

Each stage lives in its own module or rule checker; :class:`_Run` has one method per
stage and runs them in ``STAGES`` order for each template, then :func:`build` writes
``build/``. The ``*-rules`` stages run the rule checkers whose rules are build-stage
(``bbws_mail.pipeline.rules.checkers``); a build-stage error refuses the template, with
file:line, before anything is written.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bbws_mail.config import CONFIG_FILE, Config
from bbws_mail.errors import BuildError, Location, TemplateBuildFailed, TemplateError
from bbws_mail.pipeline import compile as compile_stage
from bbws_mail.pipeline import inline as inline_stage
from bbws_mail.pipeline import placeholders, splice, subject, text
from bbws_mail.pipeline.output import BuiltTemplate, read_tree, write_build
from bbws_mail.pipeline.rules import BUILT_HTML, MRML_HTML, SOURCE, refuses_build
from bbws_mail.pipeline.rules.findings import Finding, split_location

# The order of the stages, each a method ``_Run._<name>``; also the keys of the timings.
STAGES = ("splice", "placeholders", "source-rules", "compile", "mrml-rules", "inline",
          "html-rules", "text", "subject", "invariants", "contract", "bounds")
Progress = Callable[[str], None]
# The clock of the stage timings: CPU time of this process. The build is single-threaded,
# so this is what each stage costs, and a busy neighbour on a shared machine (which
# stretches the wall clock) does not move it.
CLOCK = time.process_time

__all__ = ["STAGES", "BuildReport", "Shared", "TemplateBuildFailed", "build", "build_all",
           "build_one", "discover", "verify_fresh"]


@dataclass
class BuildReport:
    templates: list[BuiltTemplate]
    timings: dict[str, float] = field(default_factory=dict)  # CPU seconds per stage (CLOCK)
    changed: list[str] = field(default_factory=list)  # output files whose bytes changed
    out_dir: Path | None = None


def discover(templates_dir: Path) -> list[Path]:
    """Template sources: ``*.mjml`` directly in ``templates_dir`` (partials live below)."""
    return sorted(p for p in templates_dir.glob("*.mjml") if p.is_file())


class Shared:
    """What every template of one build reads alike, read once for the whole build: the
    allow-list, the brand tokens and partials (``splice.Reads``), the schema files
    (``contract.SchemaFiles``). One per build: files edited between builds are read anew.
    """

    def __init__(self, config: Config) -> None:
        from bbws_mail.pipeline import contract
        from bbws_mail.pipeline.rules import allow

        self.config = config
        self.allowed, _ = allow.load(config.root)  # a broken allow-list accepts nothing
        self.schemas = contract.SchemaFiles(config.schemas_dir)
        self._reads: splice.Reads | None = None

    @property
    def reads(self) -> splice.Reads:
        """Made on first use: reading ``brand.toml`` can fail, and that is the splice
        stage's error, reported at the template."""
        if self._reads is None:
            self._reads = splice.Reads(self.config.templates_dir, self.config.company.facts())
        return self._reads


def build_one(path: Path, config: Config, timings: dict[str, float] | None = None,
              shared: Shared | None = None) -> BuiltTemplate:
    """Run every stage for one template once; raise TemplateBuildFailed with all its problems.

    The result carries every intermediate a tool needs (spliced source and line
    map, placeholders, MRML's HTML, findings), so check, preview and visual never
    run a stage again. ``shared``: what the other templates of the same build have
    read already (by default, this template reads everything itself).
    """
    return _Run(path, config, shared).build(timings if timings is not None else {})


class _Run:
    """One template through the stages; keeps what each stage produced."""

    def __init__(self, path: Path, config: Config, shared: Shared | None = None) -> None:
        self.path = path
        self.config = config
        self.shared = shared if shared is not None else Shared(config)
        self.allowed = self.shared.allowed
        self.spliced: splice.Spliced | None = None
        self.findings: list[Finding] = []
        self.mrml_html = ""
        self.errors: list[TemplateError] = []
        self.schema_files: list[str] = []  # relative to the root: sources of the output

    def fail(self, errors: list[TemplateError]) -> TemplateBuildFailed:
        refusing = [f for f in self.findings if refuses_build(f)]
        # a rule and a stage that object to the same line describe one problem: say it once
        lines = {split_location(f.location)[:2] for f in refusing}
        errors = [e for e in errors if split_location(str(e.location))[:2] not in lines]
        return TemplateBuildFailed([_as_error(f) for f in refusing] + errors, self.findings,
                                   self.spliced, self.mrml_html)

    def build(self, timings: dict[str, float]) -> BuiltTemplate:
        try:
            for stage in STAGES:
                start = CLOCK()
                getattr(self, "_" + stage.replace("-", "_"))()
                timings[stage] = timings.get(stage, 0.0) + CLOCK() - start
            return self._result()  # a template without a category fails here, at its file
        except TemplateBuildFailed:
            raise
        except TemplateError as exc:
            raise self.fail([exc]) from None

    def _rules(self, looks_at: str, html: str = "") -> None:
        """The findings of the build's checkers at ``looks_at``, the allow-list applied."""
        from bbws_mail.pipeline.rules import allow, checkers

        assert self.spliced is not None
        target = checkers.Target(self.spliced, self.config, html)
        found = checkers.run(looks_at, target, in_build=True)
        self.findings += allow.apply(found, self.allowed, report_unused=False)

    def _splice(self) -> None:
        self.spliced = splice.splice(self.path, self.config.templates_dir,
                                     reads=self.shared.reads)
        compile_stage.check_depth(self.spliced)

    def _placeholders(self) -> None:
        assert self.spliced is not None
        self.tags, self.errors = placeholders.check(self.spliced)

    def _source_rules(self) -> None:
        self._rules(SOURCE)
        if self.errors:  # the placeholder errors, reported with the source rules' findings
            raise self.fail(self.errors)

    def _compile(self) -> None:
        assert self.spliced is not None
        self.compiled = compile_stage.compile_mjml(self.spliced)
        self.mrml_html = self.compiled.html

    def _mrml_rules(self) -> None:
        self._rules(MRML_HTML, self.mrml_html)

    def _inline(self) -> None:
        self.html = inline_stage.inline_css(self.compiled.html, self.compiled.inline_css)

    def _html_rules(self) -> None:
        self._rules(BUILT_HTML, self.html)

    def _text(self) -> None:
        self.plain = text.html_to_text(self.html)

    def _subject(self) -> None:
        assert self.spliced is not None
        self.subject = subject.extract_subject(self.spliced)

    def _invariants(self) -> None:
        if any(refuses_build(f) for f in self.findings):
            # a rule already says what is wrong; a mangled-tag error would be a follow-on
            raise self.fail([])
        assert self.spliced is not None
        errors = check_invariants(self.spliced, self.tags, self.html, self.plain,
                                  self.subject.text)
        if errors:
            raise self.fail(errors)

    def _contract(self) -> None:
        from bbws_mail.pipeline import contract

        assert self.spliced is not None
        self.schema, errors, schema_files = contract.check_template(
            self.spliced, self.tags, self.subject, self.config.schemas_dir, self.spliced.name,
            self.shared.schemas)
        self.schema_files = [os.path.relpath(f, self.config.root) for f in schema_files]
        if errors:
            raise self.fail(errors)

    def _bounds(self) -> None:
        from bbws_mail.pipeline import bounds

        assert self.spliced is not None
        self.worst, errors = bounds.check(
            self.spliced.name, self.html, self.plain, self.schema, self.config,
            str(where(self.spliced)), self.config.check.worst_case_budget_kb)
        if errors:
            raise self.fail(errors)

    def _result(self) -> BuiltTemplate:
        spliced, config = self.spliced, self.config
        assert spliced is not None
        return BuiltTemplate(
            name=spliced.name,
            category=config.category(spliced.name),
            html=self.html,
            text=self.plain,
            subject=self.subject.text,
            schema=self.schema,
            sources=[*spliced.files, *self.schema_files, *brand_files(config, spliced)],
            assets=spliced.assets,
            preheader=self.subject.preheader,
            spliced=spliced,
            tags=self.tags,
            mrml_html=self.mrml_html,
            findings=self.findings,
            worst_case_html=self.worst.html,
            worst_case_text=self.worst.text,
        )


def brand_files(config: Config, spliced: splice.Spliced) -> list[str]:
    """The token files (brand.toml; bbws-mail.toml, whose [company] facts templates show
    and whose environments the manifest carries) and the assets a template used: sources
    of its output too."""
    from bbws_mail.pipeline import brand

    used = [f"{brand.ASSETS_DIR}/{name}" for name in sorted(spliced.assets)]
    tokens = [name for name in (brand.TOKENS_FILE, CONFIG_FILE)
              if (config.root / name).is_file()]
    return tokens + used


def _as_error(f: Finding) -> TemplateError:
    return TemplateError(f.location, f"{f.message} [{f.rule}]")


def check_invariants(spliced: splice.Spliced, tags: list[placeholders.Placeholder], html: str,
                     plain: str, subject_text: str) -> list[TemplateError]:
    """The tags that go in come out: in the HTML, the text part and the subject."""
    in_title = Counter(t.key for t in tags if t.context == "title")
    body = Counter(t.key for t in tags if t.context != "title")
    text_side = Counter(
        t.key for t in tags
        if t.context in {"text", "comment"} or t.context[5:] in placeholders.TEXT_VISIBLE_ATTRS
    )
    html_body = placeholders.tag_keys(_without_title(html))
    errors = []
    plain_tags = placeholders.tag_keys(plain)
    # The text part prints a link whose label is its URL once, so plain variables
    # are compared as sets there; section tags must match exactly everywhere.
    text_want = _sections(text_side) + Counter(dict.fromkeys(_variables(text_side), 1))
    text_got = _sections(plain_tags) + Counter(dict.fromkeys(_variables(plain_tags), 1))
    for label, want, got in (
        ("HTML", body, html_body),
        ("text part", text_want, text_got),
        ("subject", in_title, placeholders.tag_keys(subject_text)),
    ):
        if want != got:
            lost = want - got
            gained = got - want
            detail = []
            if lost:
                detail.append("lost " + ", ".join(sorted(lost)))
            if gained:
                detail.append("gained " + ", ".join(sorted(gained)))
            # at the first use of a tag that went missing, where the designer can look
            changed = set(lost) | set(gained)
            used = [t.offset for t in tags if t.key in changed
                    and (t.context == "title") == (label == "subject")]
            at = spliced.locate(min(used)) if used else where(spliced)
            errors.append(TemplateError(at, f"placeholders changed in the {label}: "
                                        + "; ".join(detail),
                                        "a stage mangled a Mustache tag; see the authoring guide"))
    return errors


def where(spliced: splice.Spliced) -> Location:
    """The template's own source file, for errors about the template as a whole."""
    return Location(spliced.files[0]) if spliced.files else Location(spliced.name)


def _sections(tags: Counter[str]) -> Counter[str]:
    return Counter({k: n for k, n in tags.items() if k[2:3] in ("#", "^", "/")})


def _variables(tags: Counter[str]) -> set[str]:
    return {k for k in tags if k[2:3] not in ("#", "^", "/")}


def _without_title(html: str) -> str:
    """HTML minus <title> and MRML's copy of it in the wrapper's aria-label."""
    import re

    html = re.sub(r"<title>.*?</title>", "", html, count=1, flags=re.DOTALL)
    wrapper = re.search(r'<div\b[^>]*\baria-roledescription="email"[^>]*>', html)
    if not wrapper:
        return html
    cleaned = re.sub(r'\saria-label="[^"]*"', "", wrapper.group(0), count=1)
    return html[: wrapper.start()] + cleaned + html[wrapper.end():]


def build_all(config: Config, timings: dict[str, float] | None = None, *,
              progress: Progress | None = None) -> list[BuiltTemplate]:
    """Every template built in memory, nothing written; a BuildError lists every problem.

    The templates share one :class:`Shared`: each partial, token file and schema
    file is read once per build.
    """
    sources = discover(config.templates_dir)
    if not sources:
        raise BuildError([TemplateError(Location(str(config.templates_dir)),
                                        "no templates (*.mjml) found")])
    timings = timings if timings is not None else {}
    shared = Shared(config)
    built: list[BuiltTemplate] = []
    errors: list[TemplateError] = []
    for i, path in enumerate(sources, 1):
        try:
            built.append(build_one(path, config, timings, shared))
            if progress:
                progress(f"[{i}/{len(sources)}] {path.stem} "
                         f"(worst-case HTML {built[-1].worst_case_html / 1024:.1f} KB, "
                         f"text {built[-1].worst_case_text / 1024:.1f} KB)")
        except BuildError as exc:
            errors.extend(exc.errors)
            if progress:
                progress(f"[{i}/{len(sources)}] {path.stem}: {len(exc.errors)} error(s)")
    if errors:
        raise BuildError(errors)
    return built


def build(config: Config, out_dir: Path | None = None, *,
          progress: Progress | None = None) -> BuildReport:
    """Build every template into ``out_dir`` (default ``build/``), all or nothing.

    All templates are built in memory first; any error in any of them raises a
    BuildError listing every problem and leaves ``out_dir`` untouched.
    """
    out_dir = out_dir or config.build_dir
    timings: dict[str, float] = {}
    built = build_all(config, timings, progress=progress)
    start = CLOCK()
    changed = write_build(built, config, out_dir)
    timings["write"] = CLOCK() - start
    return BuildReport(built, timings, changed, out_dir)


def verify_fresh(config: Config, build_dir: Path | None = None) -> list[str]:
    """Problems that make ``build_dir`` unfit to publish; [] when it is exactly the sources' build.

    Rebuilds in a temp folder (which also re-runs every check) and compares bytes,
    so a publish can never ship a hand-edited or stale ``build/``.
    """
    import tempfile

    build_dir = build_dir or config.build_dir
    with tempfile.TemporaryDirectory(prefix="bbws-verify-") as tmp:
        try:
            build(config, Path(tmp) / "build")
        except BuildError as exc:
            return [f"sources do not build: {e}" for e in exc.errors]
        fresh = read_tree(Path(tmp) / "build")
    if not build_dir.is_dir():
        return [f"{build_dir} does not exist: run `nox -s build`"]
    have = read_tree(build_dir)
    stale = sorted(n for n in set(fresh) | set(have) if fresh.get(n) != have.get(n))
    return [f"{build_dir / n} is stale: run `nox -s build`" for n in stale]
