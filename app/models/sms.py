"""SMS outbox and one-time verification codes.

Every SMS sent is a row of ``sms_message``: the phone, the purpose, the text with its
passwords and codes replaced by :data:`SECRET_MARK`, and its delivery state.  The
secret itself is never stored (app/services/sms.py).
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.i18n import N_
from app.models.mixins import utcnow

# SMS purposes (app/services/operators.py, app/services/password_reset.py) and
# outbox states (app/services/sms.py): Chinese msgids, translated where shown.
PURPOSE_LABELS = {
    "operator_password": N_("经办人初始密码"),
    "operator_reset": N_("经办人密码重置"),
    "password_reset": N_("找回密码验证码"),
    "expiry_reminder": N_("资质到期提醒"),
}

STATUS_LABELS = {
    "queued": N_("待发送"),
    "stored": N_("已存储"),
    "sent": N_("已发送"),
    "failed": N_("发送失败"),
}

# What the stored text shows instead of a password or a code.
SECRET_MARK = "******"


class SmsMessage(Model):
    __tablename__ = "sms_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
    phone: Mapped[str] = mapped_column(String(11), nullable=False, index=True)
    purpose: Mapped[str] = mapped_column(String(30), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)  # secrets replaced by SECRET_MARK
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    last_error: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)

    @property
    def shown_content(self) -> str:
        """The text as 短信发件箱 shows it: in development the full text this process sent."""
        return dev_text_lookup(self) or self.content


def _no_dev_text(message: "SmsMessage") -> str | None:
    return None


#: the full text of a message this process sent, in development only; ``app.services.sms``
#: installs its lookup (models know nothing of services)
dev_text_lookup = _no_dev_text


class SmsCode(Model):
    __tablename__ = "sms_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    phone: Mapped[str] = mapped_column(String(11), nullable=False)
    purpose: Mapped[str] = mapped_column(String(30), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    used_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)
