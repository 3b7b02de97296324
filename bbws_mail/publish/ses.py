"""SES readiness of an environment that sends (``ses_identity`` in bbws-mail.toml).

Read-only, per sending region (the environment's own and its replica's, where a failover
sends from), in the account of ``ses_role_arn`` (default: the environment's role):

- the identity exists, is verified for sending and its DKIM is verified;
- the account is out of the SES sandbox (in it, mail reaches verified addresses only);
- the configuration set ``send`` names exists and has an enabled event destination for
  BOUNCE and COMPLAINT (without one, nobody learns that mail bounces);
- the suppression list covers BOUNCE and COMPLAINT: the configuration set's own
  suppression options when it has them (they override the account's), else the account's.

Each finding says the ``aws sesv2`` command that fixes it. The IAM reads this takes are
listed in docs/runbooks/setup.md.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any

from bbws_mail.config import EnvConfig
from bbws_mail.publish.client import error_code
from bbws_mail.publish.preflight import BucketReport, Section

ClientFor = Callable[..., Any]  # (env, service="s3", region=None) -> boto3 client
SUPPRESSED = ("BOUNCE", "COMPLAINT")
EVENTS_TOPIC = "bbws-ses-events"
DESTINATION_NAME = "bbws-bounces-complaints"


def _cmd(*args: str) -> str:
    return "aws " + " ".join(shlex.quote(a) for a in args)


def sending_regions(env: EnvConfig) -> list[str]:
    return [env.region] + ([env.replica_region] if env.replica_region else [])


def check_ses(env: EnvConfig, client_for: ClientFor) -> BucketReport:
    """The SES readiness section of ``env``'s preflight (see the module docstring)."""
    regions = sending_regions(env)
    report = Section(f"SES identity {env.ses_identity or '(none)'} ({', '.join(regions)})")
    if not env.ses_identity:
        report.add("warn", f"no ses_identity in [env.{env.name}] of bbws-mail.toml: the "
                           "sending identity is not checked")
        return report
    if not env.ses_configuration_set:
        report.add("refuse", f"no ses_configuration_set in [env.{env.name}] of bbws-mail.toml: "
                   "nothing records bounces and complaints of the mail this environment "
                   "sends: name the configuration set the Lambdas send through there")
    access = env.ses_access()
    for region in regions:
        try:
            client = client_for(access, "sesv2", region)
        except Exception as exc:  # credentials of the sending account
            report.add("refuse", f"cannot reach SES in {region} ({type(exc).__name__})")
            continue
        _identity(client, env, region, report)
        suppressed = _account(client, env, region, report)
        overridden = False
        if env.ses_configuration_set:
            own = _configuration_set(client, env, region, report)
            if own is not None:
                suppressed, overridden = own, True
        if suppressed is not None:
            missing = [r for r in SUPPRESSED if r not in suppressed]
            if missing:
                report.add("refuse", f"the suppression list in {region} does not cover "
                           f"{' and '.join(missing)}: SES keeps sending to addresses that "
                           "bounced or complained, which damages the account's reputation",
                           _suppression_fix(env, region, overridden))
            else:
                report.add("ok", f"suppression covers BOUNCE and COMPLAINT in {region}")
    return report


def _suppression_fix(env: EnvConfig, region: str, config_set_level: bool) -> str:
    if config_set_level:
        return _cmd("sesv2", "put-configuration-set-suppression-options",
                    "--configuration-set-name", env.ses_configuration_set,
                    "--suppressed-reasons", *SUPPRESSED, "--region", region)
    return _cmd("sesv2", "put-account-suppression-attributes", "--suppressed-reasons",
                *SUPPRESSED, "--region", region)


def _identity(client: Any, env: EnvConfig, region: str, report: BucketReport) -> None:
    identity = env.ses_identity
    try:
        got = client.get_email_identity(EmailIdentity=identity)
    except Exception as exc:
        code = error_code(exc)
        if code == "NotFoundException":
            report.add("refuse", f"not set up in {region}: emails cannot be sent from there "
                       "(once created, publish its DKIM records in DNS)",
                       _cmd("sesv2", "create-email-identity", "--email-identity", identity,
                            "--region", region))
        else:
            report.add("refuse", f"cannot read it in {region} ({code or type(exc).__name__})")
        return
    show = _cmd("sesv2", "get-email-identity", "--email-identity", identity, "--region",
                region)
    if not got.get("VerifiedForSendingStatus"):
        report.add("refuse", f"not verified for sending in {region}: finish DNS/DKIM "
                   f"verification: {show} shows the records")
        return
    dkim = str((got.get("DkimAttributes") or {}).get("Status") or "NOT_STARTED")
    if dkim != "SUCCESS":
        report.add("refuse", f"verified for sending in {region} but DKIM is {dkim}: mail "
                   f"fails DMARC at many receivers: publish the DKIM records ({show} "
                   "shows them)")
        return
    report.add("ok", f"verified for sending in {region}, DKIM verified")


def _account(client: Any, env: EnvConfig, region: str, report: BucketReport
             ) -> list[str] | None:
    """Judge the account in ``region``; its suppression reasons (None: unreadable)."""
    try:
        account = client.get_account()
    except Exception as exc:
        report.add("refuse", f"cannot read the SES account in {region} "
                   f"({error_code(exc) or type(exc).__name__})")
        return None
    if not account.get("ProductionAccessEnabled"):
        report.add("refuse", f"the account is in the SES sandbox in {region}: mail reaches "
                   "verified addresses only (AWS reviews the request for production access, "
                   "usually within a day)", _cmd(
                       "sesv2", "put-account-details", "--production-access-enabled",
                       "--mail-type", "TRANSACTIONAL", "--website-url",
                       f"https://{env.ses_identity}", "--use-case-description",
                       "Transactional emails (receipts, invoices, notifications) of the "
                       "hosting platform", "--region", region))
    elif not account.get("SendingEnabled", True):
        report.add("refuse", f"sending is paused for the account in {region} "
                   f"(enforcement status {account.get('EnforcementStatus', '?')}): see the "
                   "SES console's reputation page")
    else:
        report.add("ok", f"the account is out of the sandbox in {region}")
    return list((account.get("SuppressionAttributes") or {}).get("SuppressedReasons") or [])


def _configuration_set(client: Any, env: EnvConfig, region: str, report: BucketReport
                       ) -> list[str] | None:
    """Judge the configuration set; its own suppression reasons when it overrides the
    account's (None: it does not, or it cannot be read)."""
    name = env.ses_configuration_set
    try:
        config_set = client.get_configuration_set(ConfigurationSetName=name)
    except Exception as exc:
        if error_code(exc) == "NotFoundException":
            report.add("refuse", f"configuration set {name} does not exist in {region}: "
                       "`send` names it and SES refuses mail sent through a missing one",
                       _cmd("sesv2", "create-configuration-set", "--configuration-set-name",
                            name, "--region", region))
        else:
            report.add("refuse", f"cannot read configuration set {name} in {region} "
                       f"({error_code(exc) or type(exc).__name__})")
        return None
    _event_destinations(client, env, region, report)
    options = config_set.get("SuppressionOptions") or {}
    if "SuppressedReasons" in options:
        report.add("ok", f"configuration set {name} overrides the account's suppression in "
                   f"{region}")
        return list(options["SuppressedReasons"] or [])
    return None


def _event_destinations(client: Any, env: EnvConfig, region: str,
                        report: BucketReport) -> None:
    name = env.ses_configuration_set
    try:
        destinations = client.get_configuration_set_event_destinations(
            ConfigurationSetName=name).get("EventDestinations") or []
    except Exception as exc:
        report.add("refuse", f"cannot read the event destinations of {name} in {region} "
                   f"({error_code(exc) or type(exc).__name__})")
        return
    covered = {event for d in destinations if d.get("Enabled")
               for event in d.get("MatchingEventTypes") or []}
    missing = [e for e in SUPPRESSED if e not in covered]
    if not missing:
        report.add("ok", f"configuration set {name} sends bounce and complaint events "
                   f"({region})")
        return
    topic = f"arn:aws:sns:{region}:{env.ses_access().account_id or '<account id>'}:{EVENTS_TOPIC}"
    destination = {"Enabled": True, "MatchingEventTypes": list(SUPPRESSED),
                   "SnsDestination": {"TopicArn": topic}}
    report.add("refuse", f"configuration set {name} has no enabled event destination for "
               f"{' and '.join(missing)} in {region}: nobody learns that mail bounces",
               _cmd("sns", "create-topic", "--name", EVENTS_TOPIC, "--region", region)
               + " && " + _cmd("sesv2", "create-configuration-set-event-destination",
                    "--configuration-set-name", name, "--event-destination-name",
                    DESTINATION_NAME, "--event-destination",
                    json.dumps(destination, separators=(",", ":")), "--region", region))
