"""The build pipeline, in the order it runs (needs the ``[build]`` extra).

source -> splice -> placeholders -> rules on the source -> compile -> inline ->
rules on the built HTML -> text -> subject -> invariants -> contract -> write
``build/``. A rule whose stage is ``build`` (``bbws_mail.lint.rules``) refuses the
template, with file:line, before anything is written. Each stage lives in its own module;
this function is the one place that states their order.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bbws_mail.config import Config
from bbws_mail.errors import BuildError, Location, TemplateError
from bbws_mail.lint.findings import Finding, split_location
from bbws_mail.lint.rules import refuses_build
from bbws_mail.pipeline import compile as compile_stage
from bbws_mail.pipeline import inline as inline_stage
from bbws_mail.pipeline import placeholders, splice, subject, text
from bbws_mail.pipeline.output import BuiltTemplate, read_tree, write_build

STAGES = ("splice", "placeholders", "rules", "compile", "inline", "text", "subject",
          "invariants", "contract")
Progress = Callable[[str], None]


@dataclass
class BuildReport:
    templates: list[BuiltTemplate]
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage, all templates
    changed: list[str] = field(default_factory=list)  # output files whose bytes changed
    out_dir: Path | None = None


class TemplateBuildFailed(BuildError):
    """One template does not build; what the stages that did run found stays available.

    ``bbws-mail check`` reports these findings (with the allow-list applied) instead
    of re-running the stages, and reads MRML's HTML from ``mrml_html`` when the
    source compiled.
    """

    def __init__(self, errors: list[TemplateError], findings: list[Finding],
                 spliced: splice.Spliced | None = None, mrml_html: str = "") -> None:
        super().__init__(errors)
        self.findings = findings
        self.spliced = spliced
        self.mrml_html = mrml_html


def discover(templates_dir: Path) -> list[Path]:
    """Template sources: ``*.mjml`` directly in ``templates_dir`` (partials live below)."""
    return sorted(p for p in templates_dir.glob("*.mjml") if p.is_file())


def build_one(path: Path, config: Config, timings: dict[str, float] | None = None
              ) -> BuiltTemplate:
    """Run every stage for one template once; raise TemplateBuildFailed with all its problems.

    The result carries every intermediate a tool needs (spliced source and line
    map, placeholders, MRML's HTML, findings), so check, preview and visual never
    run a stage again.
    """
    t = timings if timings is not None else {}

    def timed(stage: str, start: float) -> float:
        now = time.perf_counter()
        t[stage] = t.get(stage, 0.0) + now - start
        return now

    return _Run(path, config, timed).build()


class _Run:
    """One template through the stages; keeps what each stage produced."""

    def __init__(self, path: Path, config: Config,
                 timed: Callable[[str, float], float]) -> None:
        self.path = path
        self.config = config
        self.timed = timed
        self.spliced: splice.Spliced | None = None
        self.findings: list[Finding] = []
        self.mrml_html = ""

    def fail(self, errors: list[TemplateError]) -> TemplateBuildFailed:
        refusing = [f for f in self.findings if refuses_build(f)]
        # a rule and a stage that object to the same line describe one problem: say it once
        lines = {split_location(f.location)[:2] for f in refusing}
        errors = [e for e in errors if split_location(str(e.location))[:2] not in lines]
        return TemplateBuildFailed([_as_error(f) for f in refusing] + errors, self.findings,
                                   self.spliced, self.mrml_html)

    def build(self) -> BuiltTemplate:
        try:
            return self._stages()
        except TemplateBuildFailed:
            raise
        except TemplateError as exc:
            raise self.fail([exc]) from None

    def _stages(self) -> BuiltTemplate:
        from bbws_mail import lint
        from bbws_mail.lint import mjml as mjml_rules
        from bbws_mail.lint import palette
        from bbws_mail.lint import source as source_rules

        config, timed = self.config, self.timed
        start = time.perf_counter()
        spliced = self.spliced = splice.splice(self.path, config.templates_dir)
        compile_stage.check_depth(spliced)
        start = timed("splice", start)
        tags, errors = placeholders.check(spliced)
        start = timed("placeholders", start)
        settings, allowed = lint.build_settings(config)
        self.findings = lint.accept(
            mjml_rules.validate(spliced) + source_rules.check(spliced)
            + palette.check(spliced), allowed)
        start = timed("rules", start)
        if errors:
            raise self.fail(errors)
        compiled = compile_stage.compile_mjml(spliced)
        self.mrml_html = compiled.html
        start = timed("compile", start)
        html = inline_stage.inline_css(compiled.html, compiled.inline_css)
        start = timed("inline", start)
        self.findings += lint.accept(lint.built_html_findings(spliced, html, settings),
                                     allowed)
        start = timed("rules", start)
        plain = text.html_to_text(html)
        start = timed("text", start)
        subj = subject.extract_subject(spliced)
        start = timed("subject", start)
        if any(refuses_build(f) for f in self.findings):
            # a rule already says what is wrong; a mangled-tag error would be a follow-on
            raise self.fail([])
        errors = check_invariants(spliced, tags, html, plain, subj.text)
        start = timed("invariants", start)
        if errors:
            raise self.fail(errors)
        from bbws_mail.pipeline import bounds, contract

        schema, errors = contract.check_template(
            spliced, tags, subj, config.schemas_dir, spliced.name)
        worst, size_errors = bounds.check(
            spliced.name, html, plain, schema, config, str(where(spliced)),
            settings.worst_case_fail_kb or settings.size_fail_kb)
        timed("contract", start)
        if errors or size_errors:
            raise self.fail(errors or size_errors)
        return BuiltTemplate(
            name=spliced.name,
            category=config.category(spliced.name),
            html=html,
            text=plain,
            subject=subj.text,
            schema=schema,
            sources=[*spliced.files, *brand_files(config, spliced)],
            assets=spliced.assets,
            preheader=subj.preheader,
            spliced=spliced,
            tags=tags,
            mrml_html=compiled.html,
            findings=self.findings,
            worst_case_html=worst.html,
            worst_case_text=worst.text,
        )


def brand_files(config: Config, spliced: splice.Spliced) -> list[str]:
    """The brand token file and the assets a template used: sources of its output too."""
    from bbws_mail.pipeline import brand

    used = [f"{brand.ASSETS_DIR}/{name}" for name in sorted(spliced.assets)]
    tokens = [brand.TOKENS_FILE] if (config.root / brand.TOKENS_FILE).is_file() else []
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
            errors.append(TemplateError(where(spliced), f"placeholders changed in the {label}: "
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


def build(config: Config, out_dir: Path | None = None, *,
          progress: Progress | None = None) -> BuildReport:
    """Build every template into ``out_dir`` (default ``build/``), all or nothing.

    All templates are built in memory first; any error in any of them raises a
    BuildError listing every problem and leaves ``out_dir`` untouched.
    """
    out_dir = out_dir or config.build_dir
    sources = discover(config.templates_dir)
    if not sources:
        raise BuildError([TemplateError(Location(str(config.templates_dir)),
                                        "no templates (*.mjml) found")])
    timings: dict[str, float] = {}
    built: list[BuiltTemplate] = []
    errors: list[TemplateError] = []
    for i, path in enumerate(sources, 1):
        try:
            built.append(build_one(path, config, timings))
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
    start = time.perf_counter()
    changed = write_build(built, config, out_dir)
    timings["write"] = time.perf_counter() - start
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
