"""CA绑定 (SPEC §1.4, issue 10 §7): a trusted chain, proof of possession, the unit's own
name and code; every refusal has its reason; bind/unbind audited."""
import base64
import os
import shutil
import subprocess

import pytest
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, CaBinding, UnitCategory
from app.services import ca
from app.services.errors import DomainError
from seed.certs import issue, make_crl
from tests.factories import bind_ca, make_unit_user


@pytest.fixture
def enterprise():
    return make_unit_user(UnitCategory.ENTERPRISE)


def bind(user, issued=None, *, der=False, challenge=None, signature=None, **kwargs):
    """Bind like the page does: the challenge signed with the certificate's key."""
    issued = issued or issue(user.unit.credit_code, user.unit.name, **kwargs)
    challenge = challenge or ca.new_challenge(user.unit)
    if signature is None:
        signature = issued.sign(challenge)
    return ca.bind(user.unit, issued.cert_bytes(der), user, challenge=challenge, signature=signature)


def refused(user, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as exc:
        bind(user, **kwargs)
    assert db.session.scalar(select(CaBinding).where(CaBinding.unit_id == user.unit_id,
                                                     CaBinding.unbound_at.is_(None))) is None
    return exc.value


@pytest.mark.parametrize("attribute", [NameOID.SERIAL_NUMBER, NameOID.ORGANIZATION_IDENTIFIER,
                                       NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.COMMON_NAME])
def test_code_may_sit_in_any_allowed_subject_attribute(enterprise, attribute):
    binding = bind(enterprise, attribute=attribute)
    assert binding.fingerprint_sha256 and len(binding.fingerprint_sha256) == 64
    assert ca.has_valid_certificate(enterprise.unit)
    assert enterprise.unit.verified_name == enterprise.unit.name


def test_subject_names_its_attributes_readably(enterprise):
    code = enterprise.unit.credit_code
    binding = bind(enterprise, attribute=NameOID.SERIAL_NUMBER)
    assert f"serialNumber={code}" in binding.subject and "2.5.4.5" not in binding.subject


def test_der_and_rsa_are_accepted(enterprise):
    bind(enterprise, der=True, rsa_key=True)
    assert ca.active_binding(enterprise.unit).subject


@pytest.mark.parametrize("data,fragment", [
    (b"this is not a certificate", "无法识别"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "无法识别"),
    (b"", "请选择"),
])
def test_unparsable(enterprise, data, fragment):
    with pytest.raises(DomainError) as exc:
        ca.bind(enterprise.unit, data, enterprise, challenge="x", signature=b"x")
    assert fragment in exc.value.message and exc.value.field == "certificate"
    assert db.session.scalar(select(CaBinding)) is None


def test_expired_and_not_yet_valid(enterprise):
    assert "已过期" in refused(enterprise, days=10, starts_in_days=-30).message
    assert "尚未生效" in refused(enterprise, starts_in_days=5).message


# -- trust: the audit's self-made "Demo CA" certificate ----------------------------

def test_a_self_signed_certificate_naming_the_unit_is_refused(enterprise):
    """The audit's attack: a self-made certificate from "Demo CA" with the unit's code."""
    exc = refused(enterprise, issuer="self")
    assert "不是由平台信任的CA签发" in exc.message and exc.field == "certificate"


def test_a_certificate_from_an_unknown_ca_is_refused(enterprise):
    assert "不是由平台信任的CA签发" in refused(enterprise, issuer="other").message


def test_without_trusted_roots_configured_nothing_binds(app, enterprise, monkeypatch):
    monkeypatch.setitem(app.config, "CA_TRUSTED_ROOTS", "")
    assert "CA_TRUSTED_ROOTS" in refused(enterprise).message


def test_a_revoked_certificate_is_refused_when_a_crl_is_configured(app, enterprise, monkeypatch, tmp_path):
    issued = issue(enterprise.unit.credit_code, enterprise.unit.name)
    crl = tmp_path / "demo.crl"
    crl.write_bytes(make_crl([issued.cert]))
    monkeypatch.setitem(app.config, "CA_CRL_FILES", [str(crl)])
    assert "吊销" in refused(enterprise, issued=issued).message
    crl.write_bytes(make_crl([]))
    os.utime(crl, (os.path.getmtime(crl) + 5,) * 2)  # the store notices the new file
    bind(enterprise, issued=issued)


# -- proof of possession -------------------------------------------------------

def test_an_unsigned_upload_is_refused(enterprise):
    exc = refused(enterprise, signature=b"")
    assert exc.field == "signature" and "签名" in exc.message


def test_a_signature_by_another_key_is_refused(enterprise):
    stranger = issue(enterprise.unit.credit_code, enterprise.unit.name)
    challenge = ca.new_challenge(enterprise.unit)
    exc = refused(enterprise, challenge=challenge, signature=stranger.sign(challenge))
    assert exc.field == "signature" and "签名验证失败" in exc.message


def test_a_signature_of_another_challenge_is_refused(enterprise):
    issued = issue(enterprise.unit.credit_code, enterprise.unit.name)
    old = issued.sign(ca.new_challenge(enterprise.unit))
    assert "签名验证失败" in refused(enterprise, issued=issued, signature=old).message


def test_a_base64_signature_is_accepted(enterprise):
    issued = issue(enterprise.unit.credit_code, enterprise.unit.name)
    challenge = ca.new_challenge(enterprise.unit)
    bind(enterprise, issued=issued, challenge=challenge, signature=base64.b64encode(issued.sign(challenge)))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_the_openssl_command_shown_on_the_page_makes_a_valid_signature(enterprise, tmp_path):
    issued = issue(enterprise.unit.credit_code, enterprise.unit.name, rsa_key=True)
    (tmp_path / "enterprise.key").write_bytes(issued.key_pem())
    challenge = ca.new_challenge(enterprise.unit)
    subprocess.run(ca.openssl_command(challenge), shell=True, check=True, cwd=tmp_path)  # noqa: S602
    bind(enterprise, issued=issued, challenge=challenge, signature=(tmp_path / "challenge.sig").read_bytes())
    assert ca.active_binding(enterprise.unit) is not None


# -- the unit's own name and code ----------------------------------------------------

def test_certificate_of_another_unit_is_refused(enterprise):
    other = make_unit_user(UnitCategory.ENTERPRISE)
    issued = issue(other.unit.credit_code, enterprise.unit.name)
    assert "未包含本单位统一社会信用代码" in refused(enterprise, issued=issued).message


def test_a_code_inside_a_longer_value_does_not_count(enterprise):
    issued = issue("X" + enterprise.unit.credit_code + "9", enterprise.unit.name)
    assert "未包含本单位统一社会信用代码" in refused(enterprise, issued=issued).message


def test_the_organisation_must_be_the_units_name(enterprise):
    issued = issue(enterprise.unit.credit_code, "别的公司有限公司")
    exc = refused(enterprise, issued=issued)
    assert "与本单位名称" in exc.message and "别的公司有限公司" in exc.message


def test_two_units_cannot_hold_the_same_verified_name():
    first = make_unit_user(UnitCategory.ENTERPRISE, unit_name="广东同名医疗器械有限公司")
    second = make_unit_user(UnitCategory.ENTERPRISE, unit_name="广东同名医疗器械有限公司")
    bind(first)
    exc = refused(second)
    assert "其他单位通过CA验证" in exc.message
    assert second.unit.verified_name is None


def test_certificate_already_bound_elsewhere_is_refused():
    enterprise = make_unit_user(UnitCategory.ENTERPRISE, unit_name="广东集团医疗器械有限公司")
    other = make_unit_user(UnitCategory.ENTERPRISE, unit_name="广东集团医疗器械有限公司")
    # one certificate naming both units' codes (e.g. a group certificate)
    shared = issue(enterprise.unit.credit_code, enterprise.unit.name, also_code=other.unit.credit_code)
    bind(enterprise, issued=shared)
    assert "无需重复绑定" in pytest.raises(DomainError, bind, enterprise, issued=shared).value.message
    with pytest.raises(DomainError) as exc:
        bind(other, issued=shared)
    assert exc.value.message == "该证书已绑定其他单位"
    assert ca.active_binding(other.unit) is None


def test_rebind_and_unbind_are_audited_and_history_kept(enterprise):
    bind(enterprise)
    bind(enterprise)
    ca.unbind(enterprise.unit, enterprise)
    assert enterprise.unit.verified_name is None
    rows = db.session.scalars(select(CaBinding).where(CaBinding.unit_id == enterprise.unit_id)).all()
    assert len(rows) == 2 and all(r.unbound_at is not None for r in rows)
    events = [e.event for e in db.session.scalars(select(AuditLog).where(
        AuditLog.unit_id == enterprise.unit_id).order_by(AuditLog.id))]
    assert events[-4:] == ["ca_bound", "ca_unbound", "ca_bound", "ca_unbound"]
    with pytest.raises(DomainError):
        ca.unbind(enterprise.unit, enterprise)


def test_non_enterprise_does_not_bind():
    hospital = make_unit_user(UnitCategory.DESIGNATED)
    with pytest.raises(DomainError):
        bind(hospital)


def test_the_factory_binds_through_the_same_checks(enterprise):
    bind_ca(enterprise)
    assert ca.verified_name(enterprise.unit) == enterprise.unit.name
