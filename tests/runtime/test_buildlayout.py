"""build/ has one owner: what the build writes, every reader reads the same way."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bbws_mail import buildlayout
from bbws_mail.buildlayout import BuildLayoutError
from bbws_mail.errors import PackageError, PublishError, SourceError
from bbws_mail.pipeline.package import make_package
from bbws_mail.publish.localbuild import load_build
from bbws_mail.sources import PackagedSource, forget_packaged
from tests.conftest import ROOT


@pytest.fixture
def built(mini: Path) -> Path:
    from bbws_mail import config
    from bbws_mail.pipeline import build

    build(config.load(mini))
    return mini


def test_what_the_writer_writes_the_reader_reads_back(built: Path) -> None:
    from bbws_mail import config
    from bbws_mail.pipeline import build_one, discover

    cfg = config.load(built)
    folder = str(built / "build")
    manifest = buildlayout.read_manifest(folder)
    assert manifest["format"] == buildlayout.BUILD_FORMAT
    expected = {p.stem: build_one(p, cfg) for p in discover(cfg.templates_dir)}
    assert set(manifest["templates"]) == set(expected)
    for name, tpl in expected.items():
        entry = manifest["templates"][name]
        parts = {part: buildlayout.read_part(folder, entry["files"][part])
                 for part in buildlayout.PARTS}
        assert buildlayout.decode_parts(name, parts, folder) == (
            tpl.html, tpl.text, tpl.subject, tpl.schema)
        assert entry["sourceHash"] == buildlayout.source_hash(
            entry["sources"], lambda rel: (built / rel).read_bytes())
    urls = buildlayout.asset_base_urls(buildlayout.environments(manifest))
    assert urls == {name: env.asset_base_url for name, env in cfg.envs.items()}
    assert "assetBaseUrls" not in manifest, "the asset hosts are stated once (environments)"
    snapshot = PackagedSource(folder, env="dev").snapshot()
    assert snapshot.asset_base_url == cfg.envs["dev"].asset_base_url
    assert snapshot.build_version == manifest["buildVersion"]
    assert load_build(built / "build").manifest["assetBaseUrls"] == urls


@pytest.mark.parametrize("fmt", [1, 3, "2", None])
def test_a_build_of_another_format_is_one_clear_error_for_every_reader(
        built: Path, fmt: object) -> None:
    folder = built / "build"
    path = folder / "manifest.json"
    doc = json.loads(path.read_text())
    doc["format"] = fmt
    path.write_text(json.dumps(doc))
    forget_packaged(folder)
    want = rf"manifest\.json: format: is .*reads format {buildlayout.BUILD_FORMAT} only; rebuild"
    with pytest.raises(BuildLayoutError, match=want):
        buildlayout.read_manifest(str(folder))
    assert issubclass(BuildLayoutError, SourceError)
    with pytest.raises(SourceError, match=want):
        PackagedSource(folder, env="dev").snapshot()
    with pytest.raises(PublishError, match=want):
        load_build(folder)
    if sys.version_info[:2] == (3, 11):  # the packager byte-compiles for the Lambda runtime
        # it rebuilds in memory first: a manifest other than the build's is stale
        with pytest.raises(PackageError, match=r"manifest\.json is stale"):
            make_package(built, built / "out.zip")
    import hatch_build

    (built / "bbws_mail").symlink_to(ROOT / "bbws_mail")  # the hook runs in a project tree
    assert [p for p in hatch_build.stale_sources(built) if "reads format" in p]


def test_a_manifest_entry_without_its_parts_names_the_field(built: Path) -> None:
    path = built / "build" / "manifest.json"
    doc = json.loads(path.read_text())
    del doc["templates"]["mini"]["files"]["subject"]
    path.write_text(json.dumps(doc))
    with pytest.raises(BuildLayoutError, match=r"templates\.mini\.files\.subject: missing"):
        buildlayout.read_manifest(str(built / "build"))


def test_a_part_path_leaving_the_folder_is_refused(built: Path) -> None:
    folder = str(built / "build")
    with pytest.raises(BuildLayoutError, match="leaves the build folder"):
        buildlayout.read_part(folder, {"path": "../templates_src/mini.mjml", "sha256": "0" * 64})


def test_the_wheel_hook_reads_build_with_the_trees_own_owner_module() -> None:
    import bbws_mail
    import hatch_build

    before = sys.modules["bbws_mail"]
    owner = hatch_build.load_owner(ROOT)
    assert sys.modules["bbws_mail"] is before, "the process's own package is put back"
    assert owner is not buildlayout and Path(owner.__file__) == ROOT / "bbws_mail/buildlayout.py"
    assert owner.BUILD_FORMAT == buildlayout.BUILD_FORMAT
    assert hatch_build.stale_sources(ROOT) == []
    assert bbws_mail.buildlayout is buildlayout


def test_the_wheel_hook_needs_neither_the_package_nor_chevron(tmp_path: Path) -> None:
    """An isolated wheel build has hatchling only: the hook must still judge build/."""
    import subprocess

    code = f"""
import importlib.util, sys
from pathlib import Path
assert importlib.util.find_spec("bbws_mail") is None and importlib.util.find_spec("chevron") is None
spec = importlib.util.spec_from_file_location("hatch_build", {str(ROOT / "hatch_build.py")!r})
hook = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hook)
print(hook.stale_sources(Path({str(ROOT)!r})))
"""
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                            text=True, cwd=tmp_path, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr
