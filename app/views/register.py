"""单位注册 pages."""
from __future__ import annotations

from flask import redirect, session, url_for
from flask_appbuilder import BaseView, expose

from app.services.errors import ValidationFailed
from app.services.registration import Registration, register_unit
from app.views.forms import RegisterForm, apply_errors


class RegisterView(BaseView):
    route_base = "/register"
    default_view = "unit"

    @expose("/unit", methods=["GET", "POST"])
    def unit(self):
        form = RegisterForm()
        if form.validate_on_submit():
            data = {name: (form[name].data or "") for name in Registration.__dataclass_fields__}
            try:
                user = register_unit(Registration(**data))
            except ValidationFailed as exc:
                apply_errors(form, exc.errors)
            else:
                session["registered_account"] = user.username
                session["registered_unit"] = user.unit.name
                return redirect(url_for("RegisterView.done"))
        return self.render_template("register.html", form=form, title="单位注册")

    @expose("/done")
    def done(self):
        account = session.get("registered_account")
        if not account:
            return redirect(url_for("RegisterView.unit"))
        return self.render_template(
            "register_done.html", account=account, unit_name=session.get("registered_unit"),
            title="注册成功",
        )
