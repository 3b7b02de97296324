"""Run moto's server as three separate AWS accounts would be: ``python moto_accounts.py PORT``.

Started as its own process with ``MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS=false`` (a setting
moto reads per request from its process environment), so one account cannot read another
account's bucket, while the session-wide moto server of tests/s3/conftest.py stays as it is.
Credentials of a role assumed through its STS act in the role's account.

One fidelity fix: moto 5.2 stores a bucket's replication configuration as sent but answers
GetBucketReplication with ``Filter: {Prefix: ""}`` and ``DeleteMarkerReplication: Disabled``
for every rule, whatever was stored. The replication check reads exactly those fields, so
this server answers with the stored rules (AWS's behaviour).

One stand-in: SES verifies an identity once its DNS records are published, which cannot
happen here, so moto leaves every identity unverified. An identity created with the tag
``moto-verified=true`` counts as verified: the test decides, the code under test reads.
"""

from __future__ import annotations

import sys
from typing import Any


def _stored_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            if "Tag" in value and "Prefix" in value:  # Filter.And: its <Tag> list is Tags
                tags = value.pop("Tag")
                value["Tags"] = tags if isinstance(tags, list) else [tags]
            return {k: clean(v) for k, v in value.items() if not k.startswith("@")}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return "" if value is None else value  # xmltodict reads <Prefix></Prefix> as None

    return [clean(rule) for rule in rules]


def patch() -> None:
    from moto.core.responses import ActionResult
    from moto.s3.exceptions import ReplicationConfigurationNotFoundError
    from moto.s3.responses import S3Response

    def get_bucket_replication(self: Any) -> Any:
        self.data["Action"] = "GetBucketReplication"
        replication = self.backend.get_bucket_replication(self.bucket_name)
        if not replication:
            raise ReplicationConfigurationNotFoundError(bucket_name=self.bucket_name)
        return self.serialized(ActionResult({"ReplicationConfiguration": {
            "Role": replication["Role"], "Rules": _stored_rules(replication["Rule"])}}))

    S3Response.get_bucket_replication = get_bucket_replication

    from moto.ses.models import SESBackend

    create = SESBackend.create_email_identity_v2

    def create_email_identity_v2(self: Any, email_identity: str, tags: Any, *args: Any) -> Any:
        identity = create(self, email_identity, tags, *args)
        if {"Key": "moto-verified", "Value": "true"} in (tags or []):
            identity.verified_for_sending_status = True
        return identity

    SESBackend.create_email_identity_v2 = create_email_identity_v2


if __name__ == "__main__":
    from moto.server import main

    patch()
    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
