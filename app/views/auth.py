"""单位登录 and 忘记密码 (FAB's auth view, so its per-IP rate limit applies)."""
from __future__ import annotations

from flask import abort, current_app, g, redirect, request, session, url_for
from flask_appbuilder import expose
from flask_babel import gettext
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.views import AuthDBView
from flask_login import login_user, logout_user

from app.i18n import N_
from app.extensions import db
from app.security import sessions
from app.services import auth, password_reset
from app.services.errors import DomainError, ValidationFailed
from app.urls import local_path
from app.views.forms import EmptyForm, ForgotForm, LoginForm, ResetForm, apply_errors, notify


class UnitLoginView(AuthDBView):
    login_template = "login.html"
    title = "单位登录"

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(local_path(request.args.get("next"), "/"))
        form = LoginForm()
        if form.validate_on_submit():
            try:
                user = auth.authenticate(form.username.data, form.password.data)
            except DomainError as exc:
                form.form_errors.append(exc.message)
            else:
                login_user(user, remember=False)
                sessions.start(user)
                if user.must_change_password:
                    notify(N_("首次登录请先修改初始密码"), "warning")
                    return redirect(url_for("HallView.password"))
                return redirect(local_path(request.args.get("next"), "/"))
        return self.render_template(self.login_template, form=form, title=self.title)

    @expose("/logout/", methods=["GET", "POST"])
    @no_cache
    def logout(self):
        """退出 is a POST with the CSRF token (a cross-site GET cannot log anyone out);
        GET shows the confirmation button.  Every session of the user ends."""
        user = g.user if g.user is not None and g.user.is_authenticated else None
        form = EmptyForm()
        if request.method == "GET":
            if user is None:
                return redirect(self.appbuilder.get_url_for_index)
            return self.render_template("logout.html", form=form, title="退出")
        if not form.validate_on_submit():
            abort(400)
        if user is not None:
            auth.end_sessions(user)
            db.session.commit()
            self.appbuilder.sm.on_user_logout(user)
        logout_user()
        session.clear()
        return redirect(current_app.config.get("LOGOUT_REDIRECT_URL", self.appbuilder.get_url_for_index))

    @expose("/forgot-password/", methods=["GET", "POST"])
    @no_cache
    def forgot(self):
        form = ForgotForm()
        if form.validate_on_submit():
            try:
                password_reset.request_code(form.identifier.data)
            except DomainError as exc:
                db.session.rollback()
                apply_errors(form, getattr(exc, "errors", None) or {exc.field or "identifier": exc.message})
            else:
                # the same answer whether or not the account exists (README, Security model)
                session["reset_identifier"] = form.identifier.data.strip()
                notify(gettext(password_reset.SENT_MESSAGE), "info")
                return redirect(url_for("UnitLoginView.reset"))
        return self.render_template("forgot.html", form=form, title="忘记密码")

    @expose("/reset-password/", methods=["GET", "POST"])
    @no_cache
    def reset(self):
        form = ResetForm()
        if request.method == "GET" and not form.identifier.data:
            form.identifier.data = session.get("reset_identifier", "")
        if form.validate_on_submit():
            try:
                password_reset.reset_password(
                    form.identifier.data, form.code.data,
                    form.new_password.data, form.confirm_password.data,
                )
            except ValidationFailed as exc:
                apply_errors(form, exc.errors)
            else:
                session.pop("reset_identifier", None)
                notify(N_("密码重置成功，请使用新密码登录"), "success")
                return redirect(url_for("UnitLoginView.login"))
        return self.render_template("reset.html", form=form, title="重置密码")
