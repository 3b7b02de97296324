"""The packaged source: lazy per-template reads, shared snapshots, reader settings inside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bbws_mail import render
from bbws_mail.errors import SourceError
from bbws_mail.pipeline.output import READER_SETTINGS
from bbws_mail.s3source import resolve_bucket
from bbws_mail.sources import LazyTemplates, PackagedSource, forget_packaged
from tests.runtime.test_render import DATA


@pytest.fixture
def built(mini: Path) -> Path:
    from bbws_mail import config
    from bbws_mail.pipeline import build

    toml = mini / "bbws-mail.toml"
    toml.write_text(toml.read_text() + '\nbucket = "acme-mail-templates-dev"\n')
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
        assert set(settings) <= set(READER_SETTINGS)  # never roles, profiles, external ids
    assert resolve_bucket("dev", region="af-south-1", environments=environments)[0] == \
        "acme-mail-templates-dev"
