"""The small two-template project the S3 tests publish, and how they point it at a bucket."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

from bbws_mail import config as config_mod
from bbws_mail import layout
from bbws_mail.config import Config
from bbws_mail.pipeline import build
from bbws_mail.publish import Publisher
from tests.conftest import ROOT

EXAMPLE = json.loads((Path(__file__).parents[1] / "fixtures/mini/schemas/examples/mini.json")
                     .read_text())


def with_buckets(config: Config, **buckets: str) -> Config:
    """The config with these environments' buckets: the only way a bucket is chosen."""
    envs = dict(config.envs)
    for env, bucket in buckets.items():
        envs[env] = dataclasses.replace(envs[env], bucket=bucket)
    return dataclasses.replace(config, envs=envs)


class Project:
    """A two-template copy of the mini fixture that tests edit and rebuild."""

    def __init__(self, root: Path) -> None:
        self.root = root
        src = root / "templates_src"
        shutil.copy(src / "mini.mjml", src / "mini2.mjml")
        shutil.copy(root / "schemas/mini.schema.json", root / "schemas/mini2.schema.json")
        with (root / "bbws-mail.toml").open("a") as fh:
            fh.write('mini2 = "receipts"\n')  # appended to the fixture's [templates] table
        self.config = config_mod.load(root)

    def build(self, out: str) -> Path:
        target = self.root / out
        build(self.config, target)
        return target

    def edit(self, old: str, new: str, name: str = "mini") -> None:
        path = self.root / "templates_src" / f"{name}.mjml"
        path.write_text(path.read_text().replace(old, new))


def _publisher(project: Project, client: Any, bucket: str, env: str = "dev",
               **kwargs: Any) -> Publisher:
    kwargs.setdefault("log", lambda _m: None)
    return Publisher(with_buckets(project.config, **{env: bucket}), env, client=client,
                     **kwargs)


def publish_build(client: Any, bucket: str, build_dir: Path, *, env: str = "dev") -> dict[str, Any]:
    """Publish ``build_dir`` of the real project to ``bucket`` as ``env`` with the real
    ``Publisher`` (approved, for prod); the pointer it wrote.

    The readers under test need the bucket only: prod's replica and SES, which the
    preflight also asks for, are not set up here, so that part is overridden, with the
    reason recorded as an operator's would be (the bucket's own checks still refuse)."""
    config = with_buckets(config_mod.load(ROOT), **{env: bucket})
    pub = Publisher(config, env, client=client, approved=True, log=lambda _m: None)
    pub.publish(build_dir, override="reader tests: only the bucket is set up")
    live = pub.read_live()
    assert live is not None
    return live.doc


def changed_copy(build_dir: Path, dest: Path, name: str | tuple[str, ...], marker: str) -> Path:
    """A copy of ``build_dir`` where the HTML and text of template(s) ``name`` carry
    ``marker``: a new build version with the copy's manifest hashes updated to match, as
    a rebuild from edited sources would give (without the minutes a real build takes)."""
    shutil.copytree(build_dir, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    for one in (name,) if isinstance(name, str) else name:
        for kind, suffix in (("html", ".html"), ("text", ".txt")):
            path = dest / f"{one}{suffix}"
            path.write_text(path.read_text() + f"\n{marker}\n")
            manifest["templates"][one]["files"][kind]["sha256"] = layout.sha256_hex(
                path.read_bytes())
    manifest["buildVersion"] = layout.sha256_hex(
        f"{manifest['buildVersion']}:{marker}".encode())[:16]
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return dest
