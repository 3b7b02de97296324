"""Run moto's server as three separate AWS accounts would be: ``python moto_accounts.py PORT``.

Started as its own process with ``MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS=false`` (a setting
moto reads per request from its process environment), so one account cannot read another
account's bucket, while the session-wide moto server of tests/s3/conftest.py stays as it is.
Credentials of a role assumed through its STS act in the role's account.

One fidelity fix: moto 5.2 stores a bucket's replication configuration as sent but answers
GetBucketReplication with ``Filter: {Prefix: ""}`` and ``DeleteMarkerReplication: Disabled``
for every rule, whatever was stored. The replication check reads exactly those fields, so
this server answers with the stored rules (AWS's behaviour).

Stand-ins:
- SES verifies an identity (and its DKIM) once its DNS records are published, which cannot
  happen here, so moto leaves every identity unverified. An identity created with the tag
  ``moto-verified=true`` counts as verified, DKIM included: the test decides, the code
  under test reads.
- moto 5.2 does not report an object's replication status. HeadObject of an object in a
  bucket with a replication rule answers ``x-amz-replication-status``: COMPLETED once an
  object of that key is in the destination bucket (the tests' replicator copies them),
  PENDING before, as S3 reports the source object's progress.
- moto 5.2 lacks SES v2's GetAccount, PutAccountDetails, PutAccountSuppressionAttributes,
  PutConfigurationSetSuppressionOptions and the configuration-set event destinations.
  They are answered here, per account and region, with the response members of botocore's
  sesv2 service model: an account starts in the sandbox with no suppression list reasons
  (as a new AWS account does); PutAccountDetails with ProductionAccessEnabled grants
  production access at once (AWS reviews the request first).
"""

from __future__ import annotations

import json
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

    head = S3Response.head_object

    def head_object(self: Any, bucket_name: str, query: Any, key_name: str,
                    headers: Any) -> Any:
        status, response_headers, body = head(self, bucket_name, query, key_name, headers)
        replication = self.backend.get_bucket_replication(bucket_name) if status == 200 \
            else None
        if replication:
            rules = replication["Rule"] if isinstance(replication["Rule"], list) \
                else [replication["Rule"]]
            for rule in rules:
                destination = str((rule.get("Destination") or {}).get("Bucket", ""))
                target = self.backend.buckets.get(destination.rpartition(":")[2])
                if target is not None:
                    done = key_name in target.keys
                    response_headers["x-amz-replication-status"] = (
                        "COMPLETED" if done else "PENDING")
                    break
        return status, response_headers, body

    S3Response.head_object = head_object

    from moto.ses.models import SESBackend

    create = SESBackend.create_email_identity_v2

    def create_email_identity_v2(self: Any, email_identity: str, tags: Any, *args: Any) -> Any:
        identity = create(self, email_identity, tags, *args)
        if {"Key": "moto-verified", "Value": "true"} in (tags or []):
            identity.verified_for_sending_status = True
        return identity

    SESBackend.create_email_identity_v2 = create_email_identity_v2
    _patch_sesv2()


def _patch_sesv2() -> None:
    from moto.ses.models import SESBackend
    from moto.sesv2.responses import SESV2Response

    original = SESBackend.create_email_identity_v2

    def verified_dkim(self: Any, email_identity: str, tags: Any, *args: Any) -> Any:
        identity = original(self, email_identity, tags, *args)
        if identity.verified_for_sending_status:
            identity.dkim_attributes.update(SigningEnabled=True, Status="SUCCESS")
        return identity

    SESBackend.create_email_identity_v2 = verified_dkim

    def state(self: Any) -> dict[str, Any]:
        backend = self.sesv2_backend
        if not hasattr(backend, "bbws_account"):
            backend.bbws_account = {"production": False, "suppressed": [], "destinations": {}}
        return backend.bbws_account  # type: ignore[no-any-return]

    def get_account(self: Any) -> str:
        st = state(self)
        quota = (50000.0, 14.0) if st["production"] else (200.0, 1.0)
        return json.dumps({
            "DedicatedIpAutoWarmupEnabled": False, "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": st["production"], "SendingEnabled": True,
            "SendQuota": {"Max24HourSend": quota[0], "MaxSendRate": quota[1],
                          "SentLast24Hours": 0.0},
            "SuppressionAttributes": {"SuppressedReasons": st["suppressed"]}})

    def put_account_details(self: Any) -> str:
        if self._get_param("ProductionAccessEnabled"):
            state(self)["production"] = True
        return "{}"

    def put_account_suppression_attributes(self: Any) -> str:
        state(self)["suppressed"] = list(self._get_param("SuppressedReasons") or [])
        return "{}"

    def put_configuration_set_suppression_options(self: Any) -> str:
        config_set = self.sesv2_backend.get_configuration_set(
            configuration_set_name=self._get_param("ConfigurationSetName"))
        config_set.suppression_options = {
            "SuppressedReasons": list(self._get_param("SuppressedReasons") or [])}
        return "{}"

    def create_configuration_set_event_destination(self: Any) -> str:
        name = self._get_param("ConfigurationSetName")
        self.sesv2_backend.get_configuration_set(configuration_set_name=name)  # 404 if none
        destination = dict(self._get_param("EventDestination") or {})
        destination["Name"] = self._get_param("EventDestinationName")
        state(self)["destinations"].setdefault(name, []).append(destination)
        return "{}"

    def get_configuration_set_event_destinations(self: Any) -> str:
        name = self._get_param("ConfigurationSetName")
        self.sesv2_backend.get_configuration_set(configuration_set_name=name)
        return json.dumps({"EventDestinations": state(self)["destinations"].get(name, [])})

    from moto.sesv2 import urls

    for path in ("account", "account/details", "account/suppression",
                 "configuration-sets/(?P<ConfigurationSetName>[^/]+)/suppression-options",
                 "configuration-sets/(?P<ConfigurationSetName>[^/]+)/event-destinations"):
        urls.url_paths["{0}/v2/email/" + path + "$"] = SESV2Response.dispatch
    for handler in (get_account, put_account_details, put_account_suppression_attributes,
                    put_configuration_set_suppression_options,
                    create_configuration_set_event_destination,
                    get_configuration_set_event_destinations):
        setattr(SESV2Response, handler.__name__, handler)


if __name__ == "__main__":
    from moto.server import main

    patch()
    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
