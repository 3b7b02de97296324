"""Each template's S3 category is stated by name in bbws-mail.toml; nothing is inferred."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bbws_mail import config as config_mod
from bbws_mail.errors import BuildError
from bbws_mail.pipeline import build
from tests.conftest import ROOT


def test_every_template_of_the_project_is_mapped() -> None:
    cfg = config_mod.load(ROOT)
    names = {p.stem for p in (ROOT / "templates_src").glob("*.mjml")}
    assert names <= set(cfg.templates)
    assert {cfg.category(n) for n in names} <= {"receipts", "notifications", "invoices"}


def test_an_unmapped_template_fails_the_build_at_its_file(mini: Path) -> None:
    """order_refund must not inherit order's category by its name prefix."""
    (mini / "bbws-mail.toml").write_text(
        (mini / "bbws-mail.toml").read_text() + 'order = "receipts"\n')
    shutil.copy(mini / "templates_src/mini.mjml", mini / "templates_src/order_refund.mjml")
    shutil.copy(mini / "schemas/mini.schema.json", mini / "schemas/order_refund.schema.json")
    out = mini / "build"
    with pytest.raises(BuildError) as info:
        build(config_mod.load(mini), out)
    [error] = info.value.errors
    assert str(error.location) == "templates_src/order_refund.mjml"
    assert "no category in bbws-mail.toml [templates]" in error.message
    assert "receipts, notifications, invoices" in error.hint
    assert not out.exists(), "the build is all-or-nothing"


@pytest.mark.parametrize(("toml", "message"), [
    ('[templates]\nmini = "receipt"\n', "category must be one of receipts, notifications"),
    ('[categories]\nmini = "receipts"\n', "[categories] (by name prefix) is replaced"),
])
def test_a_bad_templates_table_is_refused(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "bbws-mail.toml").write_text(toml)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")
                       .replace(")", r"\)")):
        config_mod.load(tmp_path)
