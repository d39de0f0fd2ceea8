"""单位管理 → 单位经办人, and 用户基础设置 → 账号角色管理 (unit account only).

Both are unit-owned models served through the one tenancy base view; the
guide's own pages (新增经办人, 添加角色 with the menu tree, 分配账号) are
custom screens on those views, each loading its record through
``get_owned_or_404``.
"""
from __future__ import annotations

from flask import g, redirect, request, url_for
from sqlalchemy import or_
from flask_appbuilder import expose
from flask_appbuilder.models.sqla.filters import FilterEqualFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name

from app.i18n import Msg, N_
from app.extensions import db
from app.models import AccountRole, AppUser, UserKind
from app.security import bundles
from app.security.roles import unit_ceiling
from app.services import account_roles, operators
from app.services.errors import DomainError, ValidationFailed
from app.services.paging import keyset_page
from app.tenancy import UnitScopedModelView
from app.views.forms import EmptyForm, OperatorForm, RoleForm, apply_errors, notify


def _operator_kind():
    return UserKind.OPERATOR.value


class OperatorView(UnitScopedModelView):
    datamodel = SQLAInterface(AppUser)
    route_base = "/unit/operators"
    scope_filters = [["kind", FilterEqualFunction, _operator_kind]]
    base_permissions = ["can_list", "can_show", "can_add", "can_disable", "can_enable", "can_resetpassword"]
    show_columns = ["first_name", "phone", "masked_id_number", "account_role_name", "status_label", "created_on"]
    label_columns = {"first_name": "姓名", "phone": "手机号码", "masked_id_number": "身份证号码",
                     "account_role_name": "账号角色", "status_label": "状态", "created_on": "新增时间"}
    show_title = "经办人详情"

    @expose("/list/")
    @has_access
    def list(self):
        term = (request.args.get("q") or "").strip()[:60]
        stmt = self.scoped_query().where(AppUser.kind == UserKind.OPERATOR.value)
        if term:
            stmt = stmt.where(or_(AppUser.first_name.contains(term, autoescape=True),
                                  AppUser.phone.contains(term, autoescape=True)))
        page = keyset_page(stmt, AppUser.id, filters={"q": term}, after=request.args.get("after"),
                           before=request.args.get("before"))
        return self.render_template("unit/operators.html", rows=page.rows, page=page, form=EmptyForm(),
                                    title="单位经办人")

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        form = OperatorForm()
        if form.validate_on_submit():
            try:
                operators.add_operator(g.user, form.name.data, form.id_number.data, form.phone.data)
            except ValidationFailed as exc:
                db.session.rollback()
                apply_errors(form, exc.errors)
            except DomainError as exc:
                db.session.rollback()
                form.form_errors.append(exc.message)
            else:
                notify(N_("经办人新增成功，初始密码已通过短信发送至经办人手机"), "success")
                return redirect(url_for("OperatorView.list"))
        return self.render_template("unit/operator_form.html", form=form, title="新增经办人")

    def _act(self, pk, verb, done: str):
        operator = self.get_owned_or_404(pk)
        if not EmptyForm().validate_on_submit():
            notify(N_("请求无效，请刷新页面后重试"), "danger")
            return redirect(url_for("OperatorView.list"))
        try:
            verb(operator, g.user)
        except DomainError as exc:
            db.session.rollback()
            notify(exc.message, "danger")
        else:
            notify(done, "success")
        return redirect(url_for("OperatorView.list"))

    @expose("/disable/<int:pk>", methods=["POST"])
    @has_access
    def disable(self, pk):
        return self._act(pk, lambda op, actor: operators.set_active(op, False, actor), "已停用该经办人")

    @expose("/enable/<int:pk>", methods=["POST"])
    @has_access
    def enable(self, pk):
        return self._act(pk, lambda op, actor: operators.set_active(op, True, actor), "已启用该经办人")

    @expose("/reset-password/<int:pk>", methods=["POST"])
    @has_access
    def resetpassword(self, pk):
        return self._act(pk, operators.reset_password, "已重置密码，新密码已通过短信发送至经办人手机")


class AccountRoleView(UnitScopedModelView):
    datamodel = SQLAInterface(AccountRole)
    route_base = "/procurement/account-roles"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete", "can_assign"]
    show_columns = ["name", "menu_labels", "created_at"]
    label_columns = {"name": "角色名称", "menu_labels": "菜单权限", "created_at": "创建时间"}
    show_title = "账号角色"

    @expose("/list/")
    @has_access
    def list(self):
        term = (request.args.get("q") or "").strip()[:60]
        stmt = self.scoped_query()
        if term:
            stmt = stmt.where(AccountRole.name.contains(term, autoescape=True))
        page = keyset_page(stmt, AccountRole.id, filters={"q": term}, after=request.args.get("after"),
                           before=request.args.get("before"))
        roles = page.rows
        counts = account_roles.holder_counts(g.user)
        return self.render_template("unit/roles.html", roles=roles, page=page, counts=counts, form=EmptyForm(),
                                    menus=bundles.MENUS_BY_KEY,
                                    title="账号角色管理")

    def _tree(self):
        return bundles.menu_tree(unit_ceiling(g.user.unit))

    def _form_page(self, form, role=None):
        return self.render_template("unit/role_form.html", form=form, role=role, tree=self._tree(),
                                    title="编辑角色" if role else "添加角色")

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        form = RoleForm()
        if form.validate_on_submit():
            try:
                account_roles.create_role(g.user, form.name.data, request.form.getlist("menu_keys"))
            except ValidationFailed as exc:
                db.session.rollback()
                apply_errors(form, exc.errors)
            else:
                notify(N_("角色添加成功"), "success")
                return redirect(url_for("AccountRoleView.list"))
        return self._form_page(form)

    @expose("/edit/<int:pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        role = self.get_owned_or_404(pk)
        form = RoleForm(data={"name": role.name} if request.method == "GET" else None)
        if form.validate_on_submit():
            try:
                account_roles.update_role(g.user, role, form.name.data, request.form.getlist("menu_keys"))
            except ValidationFailed as exc:
                db.session.rollback()
                apply_errors(form, exc.errors)
            else:
                notify(N_("角色修改成功"), "success")
                return redirect(url_for("AccountRoleView.list"))
        return self._form_page(form, role)

    @expose("/delete/<int:pk>", methods=["POST"])
    @has_access
    def delete(self, pk):
        role = self.get_owned_or_404(pk)
        if not EmptyForm().validate_on_submit():
            notify(N_("请求无效，请刷新页面后重试"), "danger")
        else:
            try:
                account_roles.delete_role(g.user, role)
            except DomainError as exc:
                db.session.rollback()
                notify(exc.message, "danger")
            else:
                notify(N_("角色已删除"), "success")
        return redirect(url_for("AccountRoleView.list"))

    @expose("/assign/<int:pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("assign")
    def assign(self, pk):
        role = self.get_owned_or_404(pk)
        form = EmptyForm()
        tab = request.values.get("tab", "assigned")
        if request.method == "POST":
            if not form.validate_on_submit():
                notify(N_("请求无效，请刷新页面后重试"), "danger")
            else:
                operator = db.session.get(AppUser, request.form.get("operator_id", type=int) or 0)
                try:
                    if operator is None:
                        raise DomainError(N_("经办人不存在"))
                    if request.form.get("op") == "select":
                        account_roles.assign(g.user, role, operator)
                        notify(Msg("已将角色分配给 %(name)s", name=operator.first_name), "success")
                    else:
                        account_roles.unassign(g.user, role, operator)
                        notify(Msg("已取消 %(name)s 的角色", name=operator.first_name), "success")
                except DomainError as exc:
                    db.session.rollback()
                    notify(exc.message, "danger")
            return redirect(url_for("AccountRoleView.assign", pk=role.id, tab=tab))
        people = account_roles.operators_of_unit(g.user)
        assigned = [p for p in people if p.account_role_id == role.id]
        unassigned = [p for p in people if p.account_role_id != role.id]
        return self.render_template("unit/assign.html", role=role, form=form, tab=tab,
                                    assigned=assigned, unassigned=unassigned, title="分配账号")
