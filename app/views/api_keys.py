"""我的API密钥: a unit user's own keys for the integration API (thin: app/services/api_keys.py)."""
from __future__ import annotations

import datetime as dt

from flask import abort, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import lazy_gettext as _l
from wtforms import StringField

from app.extensions import db
from app.i18n import N_, notify
from app.services import api_keys
from app.services.errors import DomainError, ValidationFailed
from app.views.forms import REQUIRED, EmptyForm, SafeForm, apply_errors
from app.views.hall import login_required


def key_holder_required(view):
    """Unit accounts, operators and platform reviewers (app/services/api_keys.py)."""
    from functools import wraps

    @wraps(view)
    @login_required
    def wrapper(self, *args, **kwargs):
        if not api_keys.may_hold_keys(g.user):
            abort(403)
        return view(self, *args, **kwargs)

    return wrapper


class ApiKeyForm(SafeForm):
    name = StringField(_l("密钥名称"), render_kw=REQUIRED)
    expires = StringField(_l("有效期至"), render_kw={**REQUIRED, "type": "date"})


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


class ApiKeyView(BaseView):
    route_base = "/hall/api-keys"
    default_view = "list"

    def _page(self, form, created=None, status=200):
        resp = self.render_template("hall/api_keys.html", form=form, keys=api_keys.keys_of(g.user),
                                    created=created, revoke_form=EmptyForm(prefix="revoke"),
                                    status_label=api_keys.status_label, title="我的API密钥")
        if created is not None:
            # the secret is on this page only: never cached, never shown again
            from flask import make_response

            resp = make_response(resp, status)
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @expose("/", methods=["GET", "POST"])
    @key_holder_required
    def list(self):
        form = ApiKeyForm()
        if request.method == "POST" and form.validate_on_submit():
            expires = _date(form.expires.data)
            try:
                created = api_keys.create(g.user, form.name.data, expires)
            except ValidationFailed as exc:
                db.session.rollback()
                if form.expires.data and expires is None:
                    exc.errors["expires"] = N_("请选择有效期至（日期）")
                apply_errors(form, exc.errors)
            except DomainError as exc:
                db.session.rollback()
                notify(exc.message, "danger")
            else:
                return self._page(ApiKeyForm(formdata=None), created=created)
        elif request.method == "GET":
            form.expires.data = (api_keys.local_now().date() + dt.timedelta(days=90)).isoformat()
        return self._page(form)

    @expose("/revoke/<string:key_id>", methods=["POST"])
    @key_holder_required
    def revoke(self, key_id):
        if not EmptyForm(prefix="revoke").validate_on_submit():
            abort(400)
        try:
            api_keys.revoke(g.user, key_id)
        except DomainError as exc:
            db.session.rollback()
            if exc.message == "密钥不存在":
                abort(404)
            notify(exc.message, "danger")
        else:
            notify(N_("密钥已吊销，使用它的调用将被拒绝"), "success")
        return redirect(url_for("ApiKeyView.list"))
