"""All models, imported in one place so Alembic and FAB see every table."""
from flask_appbuilder import Model  # noqa: F401

from app.models.unit import (  # noqa: F401
    CATEGORY_LABELS,
    CATEGORY_ROLES,
    UNIT_ROLE_LABELS,
    Unit,
    UnitCategory,
    UnitRole,
)
from app.models.account_role import AccountRole, AccountRoleMenu  # noqa: F401
from app.models.account import AppUser, UserKind  # noqa: F401
from app.models.audit import AuditLog  # noqa: F401
from app.models.sms import SmsCode, SmsMessage  # noqa: F401
from app.models.ca import CaBinding  # noqa: F401
from app.models.ceiling import RoleCeiling  # noqa: F401
from app.models.workflow import Attachment, WorkflowHistory, WorkflowMixin  # noqa: F401
from app.models.qualification import (  # noqa: F401
    ENTRUSTMENT_KINDS, Entrustment, EntrustmentCertificate, ExpiryReminder, QualCertificate,
)
from app.models.product import ProductImport, QualItem, QualProduct  # noqa: F401
from app.models.national import (  # noqa: F401
    NationalCertificate, NationalImport, NationalItem, NationalRelease, NationalSpec, NationalTransfer,
    NationalUpload,
)
from app.models.dictionary import DictionaryEntry  # noqa: F401
from app.models.job import BackgroundJob  # noqa: F401
from app.models.api import ApiIdempotency  # noqa: F401
