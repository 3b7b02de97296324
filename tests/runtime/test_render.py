"""render(): validation first, escaping per part, one build version per call."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import TemplateDataError, UnknownTemplateError, render
from bbws_mail.sources import PackagedSource

DATA: dict[str, Any] = {
    "orderNumber": "A-1",
    "customer": {"name": "Acme & <Sons>"},
    "items": [{"name": "WordPress Starter", "lineTotal": "R99.00"},
              {"name": "Backup add-on", "lineTotal": "R1,000.00"}],
    "total": "R1,099.00",
    "orderUrl": "https://portal.bbws.co.za/orders/A-1",
    "unsubscribeUrl": "https://portal.bbws.co.za/u/123",
}


@pytest.fixture
def source(mini: Path) -> PackagedSource:
    from bbws_mail import config
    from bbws_mail.pipeline import build

    build(config.load(mini))
    return PackagedSource(mini / "build", env="dev")


def test_renders_all_parts(source: PackagedSource) -> None:
    email = render("mini", DATA, source=source)
    assert email.subject == "Order A-1 for Acme & <Sons>"
    assert "Hi Acme &amp; &lt;Sons&gt;," in email.html
    assert "Hi Acme & <Sons>," in email.text
    assert email.html.count("<td>WordPress Starter</td>") == 1
    assert "No items." not in email.html and "No items." not in email.text
    assert 'src="https://assets.dev.example/email/logo.png"' in email.html
    assert "{{" not in email.html + email.text + email.subject
    assert email.build_version == source.snapshot().build_version


def test_inverted_and_optional_sections(source: PackagedSource) -> None:
    data = {**DATA, "items": [], "campaign": {"code": "SPRING", "discountPercent": 15}}
    email = render("mini", data, source=source)
    assert "No items." in email.html and "No items." in email.text
    assert "you saved 15% with SPRING" in email.text


def test_data_errors_list_every_problem(source: PackagedSource) -> None:
    data = copy.deepcopy(DATA)
    del data["customer"]["name"]
    data["items"][1]["lineTotal"] = 1000
    data["orderUrl"] = "javascript:alert(1)"
    with pytest.raises(TemplateDataError) as info:
        render("mini", data, source=source)
    paths = {p.path for p in info.value.problems}
    assert paths == {"$.customer.name", "$.items[1].lineTotal", "$.orderUrl"}
    assert "$.orderUrl: URL must start with https:" in str(info.value)


def test_unknown_template_lists_known_ones(source: PackagedSource) -> None:
    with pytest.raises(UnknownTemplateError, match="known templates: mini"):
        render("minni", DATA, source=source)


def test_subject_never_holds_line_breaks(source: PackagedSource) -> None:
    data = {**DATA, "orderNumber": "A-1\r\nBcc: victim@example.com\u2028x"}
    email = render("mini", data, source=source)
    assert "\r" not in email.subject and "\n" not in email.subject
    assert "\u2028" not in email.subject
    msg = email.to_message(sender="BBWS <noreply@bbws.co.za>", to="a@b.co")
    assert msg["Bcc"] is None


def test_message_is_multipart_alternative_text_then_html(source: PackagedSource) -> None:
    msg = render("mini", DATA, source=source).to_message(sender="noreply@bbws.co.za",
                                                         to=["a@b.co", "c@d.co"])
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert msg["Subject"] == "Order A-1 for Acme & <Sons>"
    assert msg["To"] == "a@b.co, c@d.co"


def test_cli_render_prints_subject_and_text_and_writes_html(
        source: PackagedSource, mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import importlib
    import json

    render_module = importlib.import_module("bbws_mail.render")
    from bbws_mail.cli import main

    monkeypatch.setattr(render_module, "_default_source", source)
    data = tmp_path / "data.json"
    data.write_text(json.dumps(DATA))
    out = tmp_path / "out.html"
    assert main(["render", "mini", str(data), "--html-out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Subject: Order A-1 for Acme & <Sons>" in printed
    assert "Hi Acme & <Sons>," in printed
    assert "Hi Acme &amp; &lt;Sons&gt;," in out.read_text()
    data.write_text(json.dumps({**DATA, "orderUrl": "javascript:alert(1)"}))
    assert main(["render", "mini", str(data), "--html-out", str(out)]) == 1
    assert "$.orderUrl: URL must start with https:" in capsys.readouterr().err


def test_cli_render_writes_its_html_under_the_git_ignored_reports_folder(
        source: PackagedSource, mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Without --html-out the HTML goes to reports/render/NAME.html of the project (which
    .gitignore ignores), not into the folder the command was run from."""
    import importlib
    import json
    import subprocess

    from bbws_mail.cli import main
    from tests.conftest import ROOT

    monkeypatch.setattr(importlib.import_module("bbws_mail.render"), "_default_source", source)
    data = tmp_path / "data.json"
    data.write_text(json.dumps(DATA))
    monkeypatch.chdir(mini / "templates_src")  # somewhere inside the project
    before = set(mini.rglob("*"))
    assert main(["render", "mini", str(data)]) == 0
    out = mini / "reports" / "render" / "mini.html"
    assert "Hi Acme &amp; &lt;Sons&gt;," in out.read_text()
    assert f"HTML:    {out} " in capsys.readouterr().out
    assert set(mini.rglob("*")) - before == {mini / "reports", out.parent, out}
    # the project's .gitignore, asked of git in a scratch repository (ROOT may be no clone)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / ".gitignore").write_bytes((ROOT / ".gitignore").read_bytes())
    subprocess.run(["git", "init", "-q"], cwd=scratch, check=True)
    ignored = subprocess.run(["git", "check-ignore", "-q", "reports/render/mini.html"],
                             cwd=scratch, check=False)
    assert ignored.returncode == 0, "reports/ must stay git-ignored"
    assert main(["render", "../escape", str(data)]) == 1
    assert not list(mini.rglob("escape*")) and not (mini.parent / "escape.html").exists()


def test_forget_drops_only_other_versions_of_that_origin() -> None:
    import importlib

    mod = importlib.import_module("bbws_mail.render")  # the package re-exports the function
    with mod._cache_lock:
        saved = dict(mod._cache)
        mod._cache.clear()
        mod._cache.update({("a", "v1", "t"): None, ("a", "v2", "t"): None,  # type: ignore[dict-item]
                           ("b", "v1", "t"): None})
    try:
        mod.forget("a", keep={"v2"})
        assert set(mod._cache) == {("a", "v2", "t"), ("b", "v1", "t")}
    finally:
        with mod._cache_lock:
            mod._cache.clear()
            mod._cache.update(saved)


class _Sly(str):
    """A str subclass whose methods leave text alone, as a careless wrapper type might."""

    def replace(self, *_args: Any, **_kw: Any) -> _Sly:  # type: ignore[override]
        return self

    def translate(self, *_args: Any, **_kw: Any) -> _Sly:  # type: ignore[override]
        return self

    def isprintable(self) -> bool:
        return True


@pytest.mark.parametrize("kind", ["sly", "markupsafe"])
def test_str_subclasses_are_escaped_as_the_text_they_hold(source: PackagedSource,
                                                          kind: str) -> None:
    """Escaping works on the characters, whatever methods a subclass overrides: markupsafe's
    Markup escapes the arguments of replace() (the value came out escaped twice), others
    may not escape at all."""
    value = "<img src=x onerror=alert(1)>\u202e"
    wrap = _Sly if kind == "sly" else pytest.importorskip("markupsafe").Markup
    data = copy.deepcopy(DATA)
    data["customer"]["name"] = wrap(value)
    email = render("mini", data, source=source)
    assert "<img src=x" not in email.html and "&amp;lt;" not in email.html
    assert "&lt;img src=x onerror=alert(1)&gt;" in email.html
    assert "\u202e" not in email.html + email.text + email.subject


@pytest.mark.parametrize(("value", "kind"), [("", "packaged"), ("packaged", "packaged"),
                                             ("s3", "s3"), (" S3 ", "s3"), ("bucket", None)])
def test_the_library_and_the_cli_read_bbws_template_source_alike(
        value: str, kind: str | None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import json

    from bbws_mail.cli import main
    from bbws_mail.render import SourceNameError, configured_source_kind

    monkeypatch.setenv("BBWS_TEMPLATE_SOURCE", value)
    data = tmp_path / "data.json"
    data.write_text(json.dumps(DATA))
    if kind is None:
        with pytest.raises(SourceNameError, match="BBWS_TEMPLATE_SOURCE: unknown") as caught:
            configured_source_kind()
        assert main(["render", "mini", str(data), "--html-out", str(tmp_path / "o")]) == 1
        assert str(caught.value) in capsys.readouterr().err
    else:
        assert configured_source_kind() == kind
