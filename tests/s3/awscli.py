"""Run a printed ``aws ...`` command (or several joined by ``&&``) against a local server.

The AWS CLI itself (awscli on PyPI) pins botocore to its own release, which conflicts with
the boto3 the project uses, so this reads the command as the AWS CLI does, from botocore's
service model: ``aws <service> <operation> --<member> VALUE``, the operation and members
in the CLI's kebab-case, structures, lists and maps as JSON (the CLI accepts JSON for any
of them), lists also as space-separated words, booleans as ``--flag`` / ``--no-flag``,
``--region`` choosing the region. A command this cannot read fails the test: a fix the
tools print must be a plain, complete command.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any

from botocore import xform_name

ClientMaker = Callable[[str, str | None], Any]  # (service, region or None) -> boto3 client
SERVICES = {"s3api": "s3"}


def run(command: str, make_client: ClientMaker) -> list[Any]:
    """Run every ``aws`` command of ``command``; their responses."""
    return [run_one(shlex.split(part), make_client) for part in command.split(" && ")]


def run_one(argv: list[str], make_client: ClientMaker) -> Any:
    assert argv[:1] == ["aws"] and len(argv) >= 3, f"not an aws command: {argv}"
    service = SERVICES.get(argv[1], argv[1])
    args = argv[3:]
    region = None
    if "--region" in args:
        at = args.index("--region")
        region = args[at + 1]
        del args[at:at + 2]
    client = make_client(service, region)
    model = client.meta.service_model
    [operation] = [o for o in model.operation_names if xform_name(o, "-") == argv[2]]
    shape = model.operation_model(operation).input_shape
    members = {xform_name(name, "-"): (name, member)
               for name, member in (shape.members.items() if shape else [])}
    params: dict[str, Any] = {}
    i = 0
    while i < len(args):
        flag = args[i]
        assert flag.startswith("--"), f"{argv[2]}: expected an option, found {flag!r}"
        key = flag[2:]
        i += 1
        if key.startswith("no-") and key[3:] in members \
                and members[key[3:]][1].type_name == "boolean":
            params[members[key[3:]][0]] = False
            continue
        assert key in members, f"{argv[2]} has no option --{key}"
        name, member = members[key]
        kind = member.type_name
        if kind == "boolean":
            params[name] = True
            continue
        if kind == "list" and not args[i].startswith("["):
            words = []
            while i < len(args) and not args[i].startswith("--"):
                words.append(args[i])
                i += 1
            params[name] = words
            continue
        value: Any = args[i]
        i += 1
        if kind in ("structure", "list", "map"):
            value = json.loads(value)
        elif kind in ("integer", "long"):
            value = int(value)
        params[name] = value
    return getattr(client, xform_name(operation))(**params)
