"""bbws-mail.toml environments: deploy and replica settings, refused with file:line when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbws_mail import config

GOOD_ROLE = "arn:aws:iam::536580886816:role/bbws-templates-deploy"


def _load(tmp_path: Path, toml: str) -> config.Config:
    (tmp_path / "bbws-mail.toml").write_text(toml)
    return config.load(tmp_path)


def test_deploy_and_replica_settings_are_read(tmp_path: Path) -> None:
    cfg = _load(tmp_path, f'[defaults]\nprofile = "bbws"\n[env.dev]\nrole_arn = "{GOOD_ROLE}"\n'
                'external_id = "ci-dev"\n[env.prod]\nreplica_bucket = "p-replica"\n'
                'replica_region = "eu-west-1"\nses_identity = "bbws.co.za"\n')
    dev, prod = cfg.env("dev"), cfg.env("prod")
    assert (dev.profile, dev.role_arn, dev.external_id, dev.account_id) == (
        "bbws", GOOD_ROLE, "ci-dev", "536580886816")
    assert prod.has_replica and not dev.has_replica
    assert prod.reader_settings() == {
        "bucket": "bbws-templates-prod", "region": "af-south-1", "replica_bucket": "p-replica",
        "replica_region": "eu-west-1", "asset_base_url": prod.asset_base_url}
    assert set(config.DEPLOY_KEYS).isdisjoint(dev.reader_settings())


@pytest.mark.parametrize(("toml", "line", "where", "says"), [
    ('[env.dev]\nbucket = "ok-bucket"\nrole_arn = "arn:aws:iam::12:role/x"\n', 3,
     "[env.dev] role_arn", "arn:aws:iam::<12-digit account id>:role/<role name>"),
    ('[env.sit]\nexternal_id = "abc"\n', 2, "[env.sit] external_id", "set role_arn too"),
    (f'[env.sit]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "a b"\n', 3,
     "[env.sit] external_id", "found 3 characters"),
    ('[env.prod]\nreplica_bucket = "p-replica"\n', 2, "[env.prod] replica_bucket",
     "set replica_region"),
    ('[env.prod]\n\nreplica_region = "eu-west-1"\n', 3, "[env.prod] replica_region",
     "set replica_bucket"),
    ('[env.prod]\nreplica_bucket = "p-replica"\nreplica_region = "af-south-1"\n', 3,
     "[env.prod] replica_region", "another region"),
    ('[env.prod]\nreplica_bucket = "Bad_Bucket"\nreplica_region = "eu-west-1"\n', 2,
     "[env.prod] replica_bucket", "not a valid S3 bucket name"),
    ('[env.dev]\nregion = "Europe"\n', 2, "[env.dev] region", "not an AWS region name"),
    ('[defaults]\nprofile = 3\n', 2, "[defaults] profile", "expected a string, found an integer"),
    ('[env.prod]\nrequires_approval = "yes"\n', 2, "[env.prod] requires_approval",
     "expected true or false, found a string"),
])
def test_bad_settings_name_file_line_and_fix(tmp_path: Path, toml: str, line: int, where: str,
                                             says: str) -> None:
    with pytest.raises(ValueError) as err:
        _load(tmp_path, toml)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'bbws-mail.toml'}:{line}: {where}: ")
    assert says in message
    assert "Europe" not in message and "a b" not in message  # values described, not copied


def test_no_deploy_setting_travels_in_the_packaged_build() -> None:
    """build/ goes inside every Lambda package: it must never name a role, profile or id."""
    from tests.conftest import ROOT

    cfg = config.load(ROOT)
    deploy_values = {value for env in cfg.envs.values() for key in config.DEPLOY_KEYS
               if (value := getattr(env, key))}
    assert deploy_values, "the project names at least one deploy role"
    for path in (ROOT / "build").rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not any(v in text for v in deploy_values), path
            assert "arn:aws:iam::" not in text, path


def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "bbws-mail.toml").write_bytes(b'[env.dev]\nbucket = "caf\xe9"\n')
    with pytest.raises(config.ConfigError, match=r"bbws-mail\.toml: not UTF-8 \(byte 24\)"):
        config.load(tmp_path)


@pytest.mark.parametrize(("toml", "line", "says"), [
    ('[defaults]\nregion = "eu-west-1"\n\n[chek]\nsize_fail_kb = 90\n', 4,
     "unknown table [chek] (did you mean [check]?)"),
    ('[templates]\nmini = "receipts"\nother = "reciepts"\n', 3,
     "[templates] other: category must be one of"),
    ('[env.dev]\nbucket = "ok-bucket"\nbuckit = "x"\n', 3, "unknown key(s) in [env.dev]: buckit"),
    ('[defaults]\nregoin = "eu-west-1"\n', 2, "unknown key(s) in [env.dev]: regoin"),
    ('templates = "receipts"\n', 1, "templates must be a table"),
    ('[env]\ndev = 3\n', 2, "[env] dev must be a table"),
    ('company = "BBWS (Pty) Ltd"\n', 1, "company must be a table"),
    ('[check]\ncompany_address = "1 Road"\n', 2,
     "the company's address is stated once, as address in the [company] table"),
])
def test_every_table_is_checked_and_its_problems_named_at_their_line(
        tmp_path: Path, toml: str, line: int, says: str) -> None:
    with pytest.raises(config.ConfigError) as refused:
        _load(tmp_path, toml)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'bbws-mail.toml'}:{line}: "), message
    assert says in message, message


COMPANY = ('[company]\nname = "BBWS (Pty) Ltd"\ntrading_name = "KimmyAI WordPress Hosting"\n'
           'address = "16 Ebenezer Road, Green Point, Cape Town, 8005"\n'
           'registration = "2019/123456/07"\nvat_number = "4123456789"\n')


def test_the_company_table_is_read_with_where_each_fact_is_set(tmp_path: Path) -> None:
    company = _load(tmp_path, "# the company\n" + COMPANY).company
    assert company.facts() == {
        "name": "BBWS (Pty) Ltd", "trading_name": "KimmyAI WordPress Hosting",
        "address": "16 Ebenezer Road, Green Point, Cape Town, 8005",
        "registration": "2019/123456/07", "vat_number": "4123456789"}
    assert company.where("address") == "bbws-mail.toml:5"  # as findings name files
    assert _load(tmp_path, "").company.facts() == {}


@pytest.mark.parametrize(("change", "line", "says"), [
    (('vat_number = "4123456789"', 'vat_number = "123"'), 7,
     "[company] vat_number: a South African VAT number is 10 digits starting with 4"),
    (('registration = "2019/123456/07"', 'registration = "2019-123456"'), 6,
     "[company] registration: a CIPC registration number reads YYYY/NNNNNN/NN"),
    (('name = "BBWS (Pty) Ltd"', 'name = "BBWS {{x}}"'), 3,
     "[company] name: may not contain {{, }} or ${"),
    (('name = "BBWS (Pty) Ltd"', 'name = """BBWS\nLtd"""'), 3,
     "[company] name: must be one line"),
    (('name = "BBWS (Pty) Ltd"', "name = 7"), 3, "[company] name: expected a string"),
    (('trading_name = "KimmyAI WordPress Hosting"', 'tradingname = "x"'), 4,
     "[company] unknown key tradingname (did you mean trading_name?)"),
])
def test_a_bad_company_fact_is_a_config_error_at_its_line(
        tmp_path: Path, change: tuple[str, str], line: int, says: str) -> None:
    with pytest.raises(config.ConfigError) as err:
        _load(tmp_path, "\n" + COMPANY.replace(*change))
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'bbws-mail.toml'}:{line}: "), message
    assert says in message, message


def test_ses_readiness_and_tag_settings_are_read(tmp_path: Path) -> None:
    cfg = _load(tmp_path, f'[tags]\nOwner = "platform"\nCostCenter = "cc-42"\n[env.prod]\n'
                'ses_identity = "bbws.co.za"\nses_configuration_set = "bbws-transactional"\n'
                f'ses_role_arn = "{GOOD_ROLE}"\n')
    prod = cfg.env("prod")
    assert (prod.ses_configuration_set, prod.ses_role_arn) == ("bbws-transactional", GOOD_ROLE)
    tags = cfg.tags_for("prod")
    assert tags == {"Environment": "prod", "Project": "bbws", "Owner": "platform",
                    "CostCenter": "cc-42", "ManagedBy": "bbws-mail",
                    "Component": "email-templates"}
    assert "ses_role_arn" in config.DEPLOY_KEYS and "ses_role_arn" not in prod.reader_settings()


@pytest.mark.parametrize(("toml", "line", "says"), [
    ('[env.prod]\nses_configuration_set = "bbws-transactional"\n', 2, "set ses_identity"),
    ('[env.prod]\nses_identity = "bbws.co.za"\nses_configuration_set = "no spaces"\n', 3,
     "1-64 letters, digits, _ and -"),
    ('[env.prod]\nses_role_arn = "arn:aws:iam::1:role/x"\n', 2,
     "arn:aws:iam::<12-digit account id>:role/<role name>"),
])
def test_bad_ses_settings_name_file_line_and_fix(tmp_path: Path, toml: str, line: int,
                                                 says: str) -> None:
    with pytest.raises(config.ConfigError) as err:
        _load(tmp_path, toml)
    assert str(err.value).startswith(f"{tmp_path / 'bbws-mail.toml'}:{line}: [env.prod] ses_")
    assert says in str(err.value) and "no spaces" not in str(err.value)


@pytest.mark.parametrize(("toml", "says"), [
    ('[tags]\nColour = "blue"\n', "unknown tag"),
    ('[tags]\nOwner = 3\n', "expected a string"),
    ('[tags]\nEnvironment = "prod"\n', "set from the environment's name"),
    ('[tags]\nOwner = ""\n', "1-256 characters"),
])
def test_bad_tags_are_refused_at_their_line(tmp_path: Path, toml: str, says: str) -> None:
    with pytest.raises(config.ConfigError, match="tags") as err:
        _load(tmp_path, toml)
    assert str(err.value).startswith(f"{tmp_path / 'bbws-mail.toml'}:2: [tags]")
    assert says in str(err.value)
