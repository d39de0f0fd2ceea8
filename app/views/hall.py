"""单位网厅 (unit service hall) and its pages; 招采企业服务 entry."""
from __future__ import annotations

import time
from functools import wraps

from flask import abort, g, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose

from app.extensions import db
from app.i18n import N_
from app.models import UNIT_ROLE_LABELS, UserKind
from app.security import bundles, sessions
from app.services import auth, ca, certification
from app.services.errors import DomainError, ValidationFailed
from app.views.forms import CaForm, ChangePasswordForm, EmptyForm, apply_errors, notify


def login_required(view):
    """Any logged-in user (the first-login password change is enforced globally:
    app/security/sessions.py)."""

    @wraps(view)
    def wrapper(self, *args, **kwargs):
        user = g.user
        if user is None or not user.is_authenticated:
            return redirect(url_for("UnitLoginView.login", next=request.path))
        return view(self, *args, **kwargs)

    return wrapper


def unit_user_required(view):
    """Logged-in unit account or operator."""

    @wraps(view)
    @login_required
    def wrapper(self, *args, **kwargs):
        user = g.user
        if user.kind not in (UserKind.UNIT.value, UserKind.OPERATOR.value) or user.unit is None:
            abort(403)
        return view(self, *args, **kwargs)

    return wrapper


def unit_account_required(view):
    @wraps(view)
    @unit_user_required
    def wrapper(self, *args, **kwargs):
        if g.user.kind != UserKind.UNIT.value:
            notify(N_("该功能仅限单位账号使用"), "danger")
            return redirect(url_for("HallView.index"))
        return view(self, *args, **kwargs)

    return wrapper


class HallView(BaseView):
    route_base = "/hall"
    default_view = "index"

    @expose("/")
    @unit_user_required
    def index(self):
        unit = g.user.unit
        return self.render_template("hall/index.html", unit=unit, title="单位网厅",
                                    has_ca=ca.has_valid_certificate(unit))

    @expose("/role-certification", methods=["GET", "POST"])
    @unit_account_required
    def certify(self):
        unit = g.user.unit
        form = EmptyForm()
        chosen = request.values.get("unit_role", "")
        if request.method == "POST" and form.validate_on_submit():
            if request.form.get("confirm") == "1":
                try:
                    certification.certify(unit, chosen, g.user)
                except DomainError as exc:
                    db.session.rollback()
                    notify(exc.message, "danger")
                else:
                    return redirect(url_for("HallView.certified"))
            else:
                return self.render_template(
                    "hall/certify_confirm.html", unit=unit, form=form, role=chosen,
                    role_label=UNIT_ROLE_LABELS.get(_role(chosen), ""), title="角色认证",
                )
        return self.render_template(
            "hall/certify.html", unit=unit, form=form, title="角色认证",
            roles=[(r.value, UNIT_ROLE_LABELS[r]) for r in certification.allowed_roles(unit)],
            has_ca=ca.has_valid_certificate(unit),
        )

    @expose("/role-certification/done")
    @unit_account_required
    def certified(self):
        return self.render_template("hall/certified.html", unit=g.user.unit, title="角色认证")

    @expose("/unit")
    @unit_user_required
    def unit(self):
        unit = g.user.unit
        return self.render_template("hall/unit.html", unit=unit, title="单位管理",
                                    binding=ca.active_binding(unit))

    @expose("/ca", methods=["GET", "POST"])
    @unit_account_required
    def ca(self):
        unit = g.user.unit
        if not unit.is_enterprise:
            notify(N_("只有企业需要绑定CA证书"), "info")
            return redirect(url_for("HallView.index"))
        form = CaForm()
        unbind_form = EmptyForm(prefix="unbind")
        challenge = _ca_challenge(unit)
        if form.validate_on_submit():
            upload, signed = form.certificate.data, form.signature.data
            data = upload.read(_ca_limit() + 1) if upload else b""
            signature = signed.read(_ca_limit() + 1) if signed else b""
            try:
                if len(data) > _ca_limit() or len(signature) > _ca_limit():
                    raise DomainError(N_("证书文件过大（不超过64KB）"), field="certificate")
                ca.bind(unit, data, g.user, challenge=challenge, signature=signature)
            except DomainError as exc:
                db.session.rollback()
                apply_errors(form, {exc.field or "certificate": exc.message})
            else:
                session.pop(CA_CHALLENGE, None)  # one binding per challenge
                notify(N_("CA证书绑定成功"), "success")
                return redirect(url_for("HallView.ca"))
        return self.render_template("hall/ca.html", unit=unit, form=form, unbind_form=unbind_form,
                                    binding=ca.active_binding(unit), title="CA绑定", challenge=challenge,
                                    openssl_command=ca.openssl_command(challenge))

    @expose("/ca/unbind", methods=["POST"])
    @unit_account_required
    def ca_unbind(self):
        form = EmptyForm(prefix="unbind")
        if not form.validate_on_submit():
            abort(400)
        try:
            ca.unbind(g.user.unit, g.user)
        except DomainError as exc:
            notify(exc.message, "danger")
        else:
            notify(N_("已解绑CA证书"), "success")
        return redirect(url_for("HallView.ca"))

    @expose("/password", methods=["GET", "POST"])
    @login_required
    def password(self):
        form = ChangePasswordForm()
        if form.validate_on_submit():
            try:
                auth.change_password(g.user, form.old_password.data, form.new_password.data,
                                     form.confirm_password.data)
            except ValidationFailed as exc:
                db.session.rollback()
                apply_errors(form, exc.errors)
            else:
                sessions.keep_current(g.user)  # this session goes on; every other one ended
                notify(N_("密码修改成功"), "success")
                if not g.user.is_unit_user:
                    return redirect(self.appbuilder.get_url_for_index)
                return redirect(url_for("HallView.index"))
        return self.render_template("hall/password.html", form=form, title="修改密码")

    @expose("/procurement")
    @unit_user_required
    def procurement(self):
        return self.render_template("hall/procurement.html", title="招采企业服务")


class ProcurementView(BaseView):
    """招采企业服务 → 立即查看: the procurement area; menus come from FAB permissions."""

    route_base = "/procurement"
    default_view = "index"

    @expose("/")
    @unit_user_required
    def index(self):
        sm = self.appbuilder.sm
        visible = [m.key for m in bundles.MENUS if sm.has_access("menu_access", m.label)]
        settings = [m for m in bundles.UNIT_ACCOUNT_MENUS if sm.has_access("menu_access", m.label)]
        empty = not visible and not settings
        uncertified = empty and g.user.unit is not None and not g.user.unit.unit_role
        return self.render_template(
            "procurement/index.html", tree=bundles.menu_tree(visible), settings=settings,
            empty=empty, uncertified=uncertified, is_unit_account=g.user.kind == UserKind.UNIT.value,
            overview=sm.has_access("can_index", "QualificationOverviewView"), title="招采企业服务",
        )


def _role(key: str):
    from app.models import UnitRole

    try:
        return UnitRole(key)
    except ValueError:
        return None


CA_CHALLENGE = "ca_challenge"


def _ca_challenge(unit) -> str:
    """This unit's current challenge (kept in the session until used or expired)."""
    from flask import current_app

    now = int(time.time())
    held = session.get(CA_CHALLENGE) or {}
    ttl = current_app.config["CA_CHALLENGE_TTL"].total_seconds()
    if held.get("unit") != unit.id or now - int(held.get("at", 0)) > ttl or not held.get("value"):
        held = {"unit": unit.id, "at": now, "value": ca.new_challenge(unit)}
        session[CA_CHALLENGE] = held
    return held["value"]


def _ca_limit() -> int:
    from flask import current_app

    return current_app.config["CA_MAX_BYTES"]
