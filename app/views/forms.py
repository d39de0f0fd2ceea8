"""WTForms (Flask-WTF gives CSRF). Rules live in services; forms only carry fields."""
from __future__ import annotations

from typing import Callable

from flask import abort, redirect
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import PasswordField, RadioField, StringField
from wtforms.validators import InputRequired

from app.i18n import notify  # noqa: F401  (views import it from here)
from app.models import CATEGORY_LABELS
from app.services.text import text_error

# Longest value any single-line field accepts before its own rules run (the longest
# string column is 255); longer text is refused with the field's message.
FIELD_MAX = 255

#: Required for the service (which checks and explains); marked for assistive technology and,
#: through the stylesheet, with a visible asterisk — not the browser's own ``required``, so the
#: user meets the platform's message next to the field.
REQUIRED = {"aria-required": "true"}


class SafeForm(FlaskForm):
    """Every text field refuses control characters (NUL included) and over-long values
    with a message next to the field, before any service or query sees the value."""

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        for field in self:
            data = field.data
            values = data if isinstance(data, (list, tuple)) else [data]
            for value in values:
                message = text_error(value, FIELD_MAX)
                if message:
                    field.errors = list(field.errors or []) + [message]
                    ok = False
                    break
        return ok


class RegisterForm(SafeForm):
    category = RadioField(
        _l("注册类别"),
        choices=[(c.value, label) for c, label in CATEGORY_LABELS.items()],
        default="designated",
    )
    username = StringField(_l("账号"), render_kw=REQUIRED)
    password = PasswordField(_l("密码"), render_kw=REQUIRED)
    confirm_password = PasswordField(_l("确认密码"), render_kw=REQUIRED)
    unit_name = StringField(_l("单位名称"), render_kw=REQUIRED)
    credit_code = StringField(_l("统一社会信用代码"), render_kw=REQUIRED)
    contact_name = StringField(_l("经办人姓名"), render_kw=REQUIRED)
    contact_id_number = StringField(_l("经办人身份证号码"), render_kw=REQUIRED)
    contact_phone = StringField(_l("经办人手机号码"), render_kw=REQUIRED)


class LoginForm(SafeForm):
    username = StringField(_l("账号/手机号"), render_kw=REQUIRED)
    password = PasswordField(_l("密码"), render_kw=REQUIRED)


class ForgotForm(SafeForm):
    identifier = StringField(_l("单位账号或经办人手机号"), render_kw=REQUIRED)


class ResetForm(SafeForm):
    identifier = StringField(_l("单位账号或经办人手机号"), render_kw=REQUIRED)
    code = StringField(_l("短信验证码"), render_kw=REQUIRED)
    new_password = PasswordField(_l("新密码"), render_kw=REQUIRED)
    confirm_password = PasswordField(_l("确认新密码"), render_kw=REQUIRED)


class ChangePasswordForm(SafeForm):
    old_password = PasswordField(_l("原密码"), render_kw=REQUIRED)
    new_password = PasswordField(_l("新密码"), render_kw=REQUIRED)
    confirm_password = PasswordField(_l("确认新密码"), render_kw=REQUIRED)


class CaForm(SafeForm):
    certificate = FileField(_l("CA证书文件"), render_kw=REQUIRED)
    signature = FileField(_l("挑战码签名文件"), render_kw=REQUIRED)


class CertifyForm(SafeForm):
    unit_role = StringField(validators=[InputRequired()])


class EmptyForm(SafeForm):
    """CSRF only (confirm buttons, unbind, logout)."""


def apply_errors(form: FlaskForm, errors: dict[str, str]) -> None:
    """Put service errors next to their fields (unknown fields go to a form-level list)."""
    for field_name, message in errors.items():
        field = getattr(form, field_name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + [message]
        else:
            form.form_errors.append(message)


def apply_post(change: Callable[[], object], done_message, done_url: str):
    """The one POST idiom of a page whose rules live in a service: CSRF checked, ``change()``
    run; returns ``(redirect, {})`` when it succeeded (``done_message`` flashed: a msgid, a
    :class:`app.i18n.Msg` or a callable making one from what ``change`` did), else ``(None,
    field errors)`` with the session rolled back (a refused step without a field is flashed).
    Views never roll back themselves."""
    from app.extensions import db
    from app.services.errors import DomainError, ValidationFailed
    from app.workflow.engine import WorkflowError

    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        change()
    except ValidationFailed as exc:
        db.session.rollback()
        return None, exc.errors
    except (DomainError, WorkflowError) as exc:
        db.session.rollback()
        notify(exc.message, "danger")
        return None, {}
    notify(done_message() if callable(done_message) else done_message, "success")
    return redirect(done_url), {}


class OperatorForm(SafeForm):
    name = StringField(_l("姓名"), render_kw=REQUIRED)
    id_number = StringField(_l("身份证号码"), render_kw=REQUIRED)
    phone = StringField(_l("手机号码"), render_kw=REQUIRED)


class RoleForm(SafeForm):
    name = StringField(_l("角色名称"), render_kw=REQUIRED)
    # menu_keys come from the tree's checkboxes (request.form.getlist) and are
    # checked by the service against the unit's ceiling.
