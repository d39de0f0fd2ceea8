"""One service for uploaded proof files (PDF, JPG, PNG), stored in the database.

The type is decided by the file's content (magic bytes), never by its name.
"""
from __future__ import annotations

import hashlib
import os

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.i18n import Msg, N_
from app.models import Attachment, UserKind
from app.security.roles import review_queues_of
from app.services.errors import DomainError

SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
ALLOWED_EXTENSIONS = {".pdf", ".png", ".jpg", ".jpeg"}


def max_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


def sniff(data: bytes) -> str | None:
    for magic, content_type, _ext in SIGNATURES:
        if data.startswith(magic):
            return content_type
    return None


def validate(filename: str, data: bytes, field: str) -> str:
    """Return the content type, or raise DomainError naming the field."""
    name = os.path.basename(filename or "")
    if not name or not data:
        raise DomainError(N_("请上传文件"), field=field)
    if len(data) > max_bytes():
        raise DomainError(Msg("文件过大（不超过%(mb)sMB）", mb=max_bytes() // (1024 * 1024)), field=field)
    ext = os.path.splitext(name)[1].lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise DomainError(N_("只支持PDF、JPG、PNG格式的文件"), field=field)
    content_type = sniff(data)
    if content_type is None:
        raise DomainError(Msg("文件“%(name)s”的内容不是有效的PDF、JPG或PNG文件", name=name), field=field)
    if (ext == ".pdf") != (content_type == "application/pdf"):
        raise DomainError(Msg("文件“%(name)s”的扩展名与文件内容不符", name=name), field=field)
    return content_type


def store(unit_id: int, slot: str, filename: str, data: bytes, field: str | None = None) -> Attachment:
    content_type = validate(filename, data, field or slot)
    attachment = Attachment(
        unit_id=unit_id, slot=slot, filename=os.path.basename(filename)[:255], content_type=content_type,
        size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data,
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def copy(attachment: Attachment) -> Attachment:
    clone = Attachment(unit_id=attachment.unit_id, slot=attachment.slot, filename=attachment.filename,
                       content_type=attachment.content_type, size=attachment.size, sha256=attachment.sha256,
                       data=attachment.data)
    db.session.add(clone)
    db.session.flush()
    return clone


def of(owner_type: str, owner_id: int) -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).where(
        Attachment.owner_type == owner_type, Attachment.owner_id == owner_id).order_by(Attachment.id)))


def attach(attachment: Attachment, owner_type: str, owner_id: int) -> None:
    attachment.owner_type = owner_type
    attachment.owner_id = owner_id


PENDING = "pending"  # owner_type of a valid file kept from a refused form, not yet saved with a record


def keep_pending(unit_id: int, slot: str, filename: str, data: bytes) -> Attachment:
    """Keep a valid file of a refused form so the user need not choose it again (committed at once)."""
    attachment = store(unit_id, slot, filename, data)
    attachment.owner_type = PENDING
    db.session.commit()
    return attachment


def take_pending(unit_id: int, attachment_id, slot: str) -> Attachment | None:
    """A kept file of this unit and slot, or None (ids from the form are never trusted further)."""
    try:
        pk = int(str(attachment_id))
    except ValueError:
        return None
    a = db.session.get(Attachment, pk)
    if a is None or a.owner_type != PENDING or a.unit_id != unit_id or a.slot != slot:
        return None
    return a


def purge_pending(older_than) -> int:
    """Kept files never used (the form was abandoned): removed by the daily run."""
    from sqlalchemy import delete

    result = db.session.execute(delete(Attachment).where(Attachment.owner_type == PENDING,
                                                         Attachment.created_at < older_than))
    return result.rowcount or 0


def describe(items: list[Attachment]) -> dict[str, str]:
    """For diffs: slot → 'file name (sha256 prefix)'."""
    out: dict[str, str] = {}
    for a in items:
        out.setdefault(f"附件:{a.slot}", "")
        out[f"附件:{a.slot}"] = (out[f"附件:{a.slot}"] + "；" if out[f"附件:{a.slot}"] else "") + \
            f"{a.filename}（{a.sha256[:12]}）"
    return out


def submitted_once(record) -> bool:
    """Reviewers see a record from its first submission on; a draft never submitted
    (a new record or a change revision) stays private to its unit."""
    return getattr(record, "submitted_at", None) is not None


def owner_of(attachment: Attachment):
    """The record an attachment belongs to (by table name), or None."""
    from flask_appbuilder import Model

    if not attachment.owner_type or attachment.owner_id is None:
        return None
    for mapper in Model.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == attachment.owner_type:
            return db.session.get(mapper.class_, attachment.owner_id)
    return None


def can_download(attachment: Attachment, user) -> bool:
    """The owning unit's users, or platform reviewers/admins once the record was submitted."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.kind in (UserKind.UNIT.value, UserKind.OPERATOR.value):
        return user.unit_id == attachment.unit_id
    if not review_queues_of(user):
        return False
    return submitted_once(owner_of(attachment))
