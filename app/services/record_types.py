"""The workflow's record types (委托授权, 注册证, 产品/包装), registered once when the app is created.

Each is declared beside its rules (``qualification.ENTRUSTMENT`` …); this is the one list of
them.  Review menus and queues, reviewer permissions, owner checks and metrics are derived from
the registry (``app.workflow.registry``), so a new record type is one declaration here.
"""
from __future__ import annotations

from app.services import products, qualification
from app.workflow import registry

ALL = (qualification.ENTRUSTMENT, qualification.CERTIFICATE, products.PRODUCT)


def register_all() -> None:
    for record_type in ALL:
        registry.register_record_type(record_type)
