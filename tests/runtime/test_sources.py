"""The packaged source: lazy per-template reads, shared snapshots, reader settings inside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bbws_mail import render
from bbws_mail.config import READER_KEYS
from bbws_mail.errors import SourceError
from bbws_mail.s3source import resolve_bucket
from bbws_mail.sources import LazyTemplates, PackagedSource, forget_packaged
from tests.runtime.test_render import DATA


@pytest.fixture
def built(mini: Path) -> Path:
    from bbws_mail import config
    from bbws_mail.pipeline import build

    toml = mini / "bbws-mail.toml"
    toml.write_text(toml.read_text().replace(
        "[env.dev]\n", '[env.dev]\nbucket = "acme-mail-templates-dev"\n'))
    build(config.load(mini))
    return mini / "build"


def test_only_the_rendered_template_is_read_and_snapshots_are_shared(built: Path) -> None:
    source = PackagedSource(built, env="dev")
    snapshot = source.snapshot()
    assert isinstance(snapshot.templates, LazyTemplates)
    assert snapshot.templates.loaded() == []
    assert list(snapshot.templates) == ["mini"]
    render("mini", DATA, source=source)
    assert snapshot.templates.loaded() == ["mini"]
    assert PackagedSource(built, env="dev").snapshot() is snapshot  # no re-read per call


def test_a_tampered_packaged_file_is_refused_on_first_use(built: Path) -> None:
    forget_packaged(built)
    (built / "mini.txt").write_text("tampered {{orderNumber}}\n")
    with pytest.raises(SourceError, match=r"mini\.txt does not match its manifest hash"):
        render("mini", DATA, source=PackagedSource(built, env="dev"))


def test_reader_settings_travel_in_the_manifest_and_pick_the_bucket(built: Path) -> None:
    environments = json.loads((built / "manifest.json").read_text())["environments"]
    assert environments["dev"]["bucket"] == "acme-mail-templates-dev"
    for settings in environments.values():
        assert set(settings) <= set(READER_KEYS)  # never roles, profiles, external ids
    assert resolve_bucket("dev", region="af-south-1", environments=environments)[0] == \
        "acme-mail-templates-dev"


def test_build_time_code_renders_exactly_like_run_time_compilation(project_build: Path) -> None:
    import json as json_module

    from bbws_mail.render import CompiledTemplate, compiled
    from tests.conftest import ROOT

    source = PackagedSource(project_build, env="prod")
    snapshot = source.snapshot()
    for name in snapshot.templates:
        files = snapshot.templates[name]
        fast, slow = compiled(snapshot, name), CompiledTemplate(files)
        assert fast.html._fn.__code__.co_filename.endswith(f"{name}.mustache.py")
        data = json_module.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
        glob = {"assetBaseUrl": snapshot.asset_base_url}
        for part in ("html", "text", "subject"):
            assert getattr(fast, part).render(data, glob) == getattr(slow, part).render(data, glob)
        assert fast.validator._check.__code__.co_filename.endswith(f"{name}.mustache.py")
        broken = [data, {}, {**data, "unexpected": 1}, [], None,
                  {k: (1.5 if isinstance(v, str) else "x") for k, v in data.items()}]
        for value in broken:
            assert fast.validator.problems(value) == slow.validator.problems(value)
        assert fast.validator.problems(broken[2]), "the extra key must be reported"


def test_stale_build_time_code_is_ignored(built: Path) -> None:
    from bbws_mail.buildlayout import CODE_SUFFIX as SUFFIX

    module = built / f"mini{SUFFIX}"
    module.write_text(module.read_text().replace("'html': '", "'html': '0", 1))
    from bbws_mail.render import compiled

    forget_packaged(built)
    source = PackagedSource(built, env="dev")
    email = render("mini", DATA, source=source)
    assert "Hi Acme &amp; &lt;Sons&gt;," in email.html
    assert compiled(source.snapshot(), "mini").html._fn.__code__.co_filename == "<mustache>"


def test_a_validator_that_no_longer_matches_the_schema_is_compiled_at_run_time(
        built: Path) -> None:
    from bbws_mail.buildlayout import CODE_SUFFIX as SUFFIX
    from bbws_mail.render import compiled

    module = built / f"mini{SUFFIX}"
    module.write_text(module.read_text().replace("'check': '", "'check': '0", 1))
    forget_packaged(built)
    source = PackagedSource(built, env="dev")
    render("mini", DATA, source=source)
    tpl = compiled(source.snapshot(), "mini")
    assert tpl.html._fn.__code__.co_filename.endswith(SUFFIX)
    assert tpl.validator._check.__code__.co_filename == "<schema #>"


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "{not json", '{"templates": 1}'])
def test_an_unreadable_packaged_manifest_is_a_source_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(SourceError, match=r"manifest\.json"):
        PackagedSource(tmp_path).snapshot()
