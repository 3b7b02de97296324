"""The schema compatibility gate: a build that rejects data the live build accepts is refused."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import layout
from bbws_mail.publish import BreakingChangeError, Publisher, promote
from bbws_mail.publish.compat import breaking_changes
from bbws_mail.validate import SEMANTICS_VERSION
from tests.s3.coldread import cold_snapshot
from tests.s3.conftest import make_bucket, make_test_client
from tests.s3.project import Project, _publisher, with_buckets

pytestmark = pytest.mark.s3
Edit = Callable[[dict[str, Any]], None]


def _paths(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.path, c.message.split(" ")[0]) for c in breaking_changes("t", old, new)]


OBJ = {"type": "object", "additionalProperties": False, "required": ["a"],
       "properties": {"a": {"type": "string", "maxLength": 10},
                      "n": {"type": "number"},
                      "kind": {"enum": ["x", "y"]},
                      "items": {"type": "array", "items": {"$ref": "#/$defs/item"}}},
       "$defs": {"item": {"type": "object", "additionalProperties": False,
                          "properties": {"sku": {"type": "string"}}}}}


def _changed(edit: Edit) -> dict[str, Any]:
    new = json.loads(json.dumps(OBJ))
    edit(new)
    return new


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda s: s["properties"].pop("n"), [("$.n", "property")]),
    (lambda s: s["required"].append("n"), [("$.n", "newly")]),
    (lambda s: s["properties"]["n"].update(type="integer"), [("$.n", "type")]),
    (lambda s: s["properties"]["a"].update(type=["integer"]), [("$.a", "type")]),
    (lambda s: s["properties"]["a"].update(maxLength=5), [("$.a", "maxLength")]),
    (lambda s: s["properties"]["a"].update(minLength=1), [("$.a", "minLength")]),
    (lambda s: s["properties"]["a"].update(format="email"), [("$.a", "format")]),
    (lambda s: s["properties"]["a"].update(pattern="^[a-z]+$"), [("$.a", "pattern")]),
    (lambda s: s["properties"]["kind"].update(enum=["x"]), [("$.kind", "enum")]),
    (lambda s: s["$defs"]["item"]["properties"].pop("sku"), [("$.items[*].sku", "property")]),
], ids=["removed", "required", "number-to-integer", "string-to-integer", "maxLength",
        "minLength", "format", "pattern", "enum", "removed-behind-ref"])
def test_each_narrowing_is_breaking_with_its_json_path(edit: Edit,
                                                      expected: list[tuple[str, str]]) -> None:
    assert _paths(OBJ, _changed(edit)) == expected


@pytest.mark.parametrize("edit", [
    lambda s: s["properties"].update(note={"type": "string"}),
    lambda s: s["required"].remove("a"),
    lambda s: s["properties"]["a"].update(maxLength=20),
    lambda s: s["properties"]["n"].update(type=["number", "null"]),
    lambda s: s["properties"]["kind"].update(enum=["x", "y", "z"]),
    lambda s: s.update(additionalProperties=True),
], ids=["optional-added", "required-dropped", "maxLength-raised", "type-widened",
        "enum-widened", "opened"])
def test_additive_and_widening_changes_pass(edit: Edit) -> None:
    assert _paths(OBJ, _changed(edit)) == []


def edit_schema(build_dir: Path, out: Path, name: str, edit: Edit,
                validator: int | None = None) -> Path:
    """A copy of a build with one template's bundled schema edited (manifest re-hashed)."""
    shutil.copytree(build_dir, out)
    manifest = json.loads((out / "manifest.json").read_text())
    entry = manifest["templates"][name]
    path = out / entry["files"]["schema"]["path"]
    schema = json.loads(path.read_text())
    edit(schema)
    data = (json.dumps(schema, indent=2, sort_keys=True) + "\n").encode()
    path.write_bytes(data)
    entry["files"]["schema"].update(sha256=layout.sha256_hex(data), bytes=len(data))
    entry["schemaHash"] = layout.sha256_hex(data)
    if validator is not None:
        manifest["validator"] = validator
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return out


CASES: dict[str, tuple[Edit, str]] = {
    "removes a property": (lambda s: s["properties"].pop("campaign"), "$.campaign"),
    "adds a required one": (lambda s: s["required"].append("campaign"), "$.campaign"),
    "narrows a type": (lambda s: s["properties"]["campaign"]["properties"]["code"].update(
        type="integer"), "$.campaign.code"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_publish_refuses_a_breaking_build_and_allow_breaking_is_recorded(
        project: Project, moto_endpoint: str, tmp_path: Path, case: str) -> None:
    edit, path = CASES[case]
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    pub = _publisher(project, client, bucket)
    v1 = project.build("v1")
    pub.publish(v1)
    v2 = edit_schema(v1, tmp_path / "v2", "mini", edit)
    with pytest.raises(BreakingChangeError) as info:
        pub.publish(v2)
    message = str(info.value)
    assert f"mini: {path}: " in message and "--allow-breaking mini" in message
    assert "mini2" not in message
    assert cold_snapshot(client, bucket).build_version == pub.history()[0]["buildVersion"]
    assert len(pub.history()) == 1, "nothing was published"

    pub.publish(v2, allow_breaking=["mini"])
    live = client.get_object(Bucket=bucket, Key="manifest.json")["Body"].read()
    assert json.loads(live)["allowBreaking"] == ["mini"]
    assert pub.history()[0]["allowBreaking"] == ["mini"]


def test_an_additive_change_passes(project: Project, moto_endpoint: str, tmp_path: Path) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    pub = _publisher(project, client, bucket)
    v1 = project.build("v1")
    pub.publish(v1)
    v2 = edit_schema(v1, tmp_path / "v2", "mini",
                     lambda s: s["properties"].update(note={"type": "string"}))
    pub.publish(v2)
    assert pub.history()[0]["allowBreaking"] == []
    assert "note" in cold_snapshot(client, bucket).templates["mini"].schema["properties"]


def test_promote_and_rollback_are_gated_against_each_targets_live_build(
        project: Project, moto_endpoint: str, tmp_path: Path) -> None:
    client = make_test_client(moto_endpoint)
    buckets = {env: make_bucket(client) for env in ("dev", "sit")}
    cfg = with_buckets(project.config, **buckets)
    clients = {"dev": client, "sit": client}
    dev = Publisher(cfg, "dev", client=client, log=lambda _m: None)
    v1 = project.build("v1")
    dev.publish(v1)
    promote(cfg, "dev", "sit", clients=clients, log=lambda _m: None)
    v2 = edit_schema(v1, tmp_path / "v2", "mini2", CASES["removes a property"][0])
    dev.publish(v2, allow_breaking=["mini2"])
    with pytest.raises(BreakingChangeError, match=r"mini2: \$\.campaign: property removed"):
        promote(cfg, "dev", "sit", clients=clients, log=lambda _m: None)
    assert cold_snapshot(client, buckets["sit"], env="sit").manifest != \
        cold_snapshot(client, buckets["dev"]).manifest
    promote(cfg, "dev", "sit", clients=clients, allow_breaking=["mini2"], log=lambda _m: None)
    sit = Publisher(cfg, "sit", client=client, log=lambda _m: None)
    assert sit.history()[0]["allowBreaking"] == ["mini2"]

    v3 = edit_schema(v1, tmp_path / "v3", "mini",
                     lambda s: s["properties"].update(note={"type": "string"}))
    dev.publish(v3)  # from v2: campaign comes back to mini2, note is new in mini: additive
    with pytest.raises(BreakingChangeError) as info:
        dev.rollback()  # back to v2 would drop both again
    assert "mini: $.note: property removed" in str(info.value)
    assert "mini2: $.campaign: property removed" in str(info.value)
    dev.rollback(allow_breaking=["mini", "mini2"])
    assert dev.history()[0]["action"] == "rollback"
    assert dev.history()[0]["allowBreaking"] == ["mini", "mini2"]


def test_a_stricter_validator_and_a_removed_template_are_breaking(
        project: Project, moto_endpoint: str, tmp_path: Path) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    pub = _publisher(project, client, bucket)
    v1 = project.build("v1")
    pub.publish(v1)
    now = SEMANTICS_VERSION
    stricter = edit_schema(v1, tmp_path / "strict", "mini", lambda s: None, validator=now + 1)
    with pytest.raises(BreakingChangeError) as info:
        pub.publish(stricter)
    assert f"mini: $: validator semantics {now} -> {now + 1}" in str(info.value)
    assert f"mini2: $: validator semantics {now} -> {now + 1}" in str(info.value)

    fewer = tmp_path / "fewer"
    shutil.copytree(v1, fewer)
    manifest = json.loads((fewer / "manifest.json").read_text())
    del manifest["templates"]["mini2"]
    (fewer / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BreakingChangeError, match=r"mini2: \$: template removed"):
        pub.publish(fewer)
