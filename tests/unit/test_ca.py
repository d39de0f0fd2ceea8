"""CA绑定 (SPEC §1.4): every refusal has its reason; bind/unbind audited."""
import pytest
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, CaBinding, UnitCategory
from app.services import ca
from app.services.errors import DomainError
from seed.certs import make_certificate
from tests.factories import make_unit_user


@pytest.fixture
def enterprise():
    return make_unit_user(UnitCategory.ENTERPRISE)


@pytest.mark.parametrize("attribute", [NameOID.SERIAL_NUMBER, NameOID.ORGANIZATION_IDENTIFIER,
                                       NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.COMMON_NAME])
def test_code_may_sit_in_any_allowed_subject_attribute(enterprise, attribute):
    binding = ca.bind(enterprise.unit, make_certificate(enterprise.unit.credit_code, attribute=attribute), enterprise)
    assert binding.fingerprint_sha256 and len(binding.fingerprint_sha256) == 64
    assert ca.has_valid_certificate(enterprise.unit)


def test_subject_names_its_attributes_readably(enterprise):
    code = enterprise.unit.credit_code
    binding = ca.bind(enterprise.unit, make_certificate(code, attribute=NameOID.SERIAL_NUMBER), enterprise)
    assert f"serialNumber={code}" in binding.subject and "2.5.4.5" not in binding.subject


def test_der_is_accepted(enterprise):
    ca.bind(enterprise.unit, make_certificate(enterprise.unit.credit_code, der=True), enterprise)
    assert ca.active_binding(enterprise.unit).subject


@pytest.mark.parametrize("data,fragment", [
    (b"this is not a certificate", "无法识别"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "无法识别"),
    (b"", "请选择"),
])
def test_unparsable(enterprise, data, fragment):
    with pytest.raises(DomainError) as exc:
        ca.bind(enterprise.unit, data, enterprise)
    assert fragment in exc.value.message and exc.value.field == "certificate"
    assert db.session.scalar(select(CaBinding)) is None


def test_expired_and_not_yet_valid(enterprise):
    code = enterprise.unit.credit_code
    with pytest.raises(DomainError) as exc:
        ca.bind(enterprise.unit, make_certificate(code, days=10, starts_in_days=-30), enterprise)
    assert "已过期" in exc.value.message
    with pytest.raises(DomainError) as exc:
        ca.bind(enterprise.unit, make_certificate(code, starts_in_days=5), enterprise)
    assert "尚未生效" in exc.value.message
    assert db.session.scalar(select(CaBinding)) is None


def test_certificate_of_another_unit_is_refused(enterprise):
    other = make_unit_user(UnitCategory.ENTERPRISE)
    with pytest.raises(DomainError) as exc:
        ca.bind(enterprise.unit, make_certificate(other.unit.credit_code), enterprise)
    assert "未包含本单位统一社会信用代码" in exc.value.message


def test_certificate_already_bound_elsewhere_is_refused(enterprise):
    other = make_unit_user(UnitCategory.ENTERPRISE)
    # one certificate naming both units' codes (e.g. a group certificate)
    shared = make_certificate(enterprise.unit.credit_code, also_code=other.unit.credit_code)
    ca.bind(enterprise.unit, shared, enterprise)
    with pytest.raises(DomainError) as exc:
        ca.bind(enterprise.unit, shared, enterprise)
    assert "无需重复绑定" in exc.value.message
    with pytest.raises(DomainError) as exc:
        ca.bind(other.unit, shared, other)
    assert exc.value.message == "该证书已绑定其他单位"
    assert ca.active_binding(other.unit) is None


def test_rebind_and_unbind_are_audited_and_history_kept(enterprise):
    ca.bind(enterprise.unit, make_certificate(enterprise.unit.credit_code), enterprise)
    ca.bind(enterprise.unit, make_certificate(enterprise.unit.credit_code), enterprise)
    ca.unbind(enterprise.unit, enterprise)
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
        ca.bind(hospital.unit, make_certificate(hospital.unit.credit_code), hospital)
