"""耗材单件列表, 耗材产品列表 (with 新增包装 / 导入 / 错误日志导出) and 耗材产品查询."""
from __future__ import annotations


from flask import Response, abort, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name
from sqlalchemy import select

from app.excel import XLSX_MIMETYPE
from app.extensions import db
from app.models import QualItem, QualProduct
from app.models.dictionary import MEASURE_UNIT, PACKAGE_UNIT
from app.models.national import NationalItem, NationalSpec
from app.services import chain, db_limits, product_import, product_query, products
from app.services.national import item_reminders, transfers_for
from app.services.paging import keyset_page
from app.tenancy import UnitScopedModelView, current_unit_id
from app.i18n import Msg, N_
from app.views.forms import EmptyForm, apply_post, notify
from app.views.workflow import WorkflowModelView, back_to as _back
from app.workflow import engine
from app.workflow.engine import STATE_LABELS


def xlsx_response(data: bytes, filename: str) -> Response:
    from urllib.parse import quote

    resp = Response(data, mimetype=XLSX_MIMETYPE)
    resp.headers["Content-Disposition"] = f"attachment; filename=\"export.xlsx\"; filename*=UTF-8''{quote(filename)}"
    return resp


def _packaging_from_form(code: str = "") -> products.Packaging:
    f = request.form
    return products.Packaging(code=f.get("code", code), min_unit=f.get("min_unit", ""),
                              pack_unit=f.get("pack_unit", ""), pack_ratio=f.get("pack_ratio", ""),
                              mid_unit=f.get("mid_unit", ""), mid_ratio=f.get("mid_ratio", ""))


def _specs_by_code(codes) -> dict[str, NationalSpec]:
    codes = list(set(codes))
    if not codes:
        return {}
    return {s.code: s for s in db.session.scalars(select(NationalSpec).where(NationalSpec.code.in_(codes)))}


def _removable(rows) -> set[int]:
    """The packagings 删除 may remove (never submitted), by the workflow's one rule."""
    return engine.removable_ids(products.PRODUCT.key, rows)


def _import(item: QualItem | None):
    """导入 (shared by an item's page and the product list); returns the result page."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        notify(N_("请选择要导入的Excel文件"), "danger")
        return None
    try:
        db_limits.allow()  # imports have their own statement budget
        result = product_import.import_packaging(g.user, upload.stream, upload.filename, item=item)
    except product_import.ImportRefused as exc:
        notify(exc.message, "danger")
        return None
    notify(Msg("导入完成：成功%(saved)s条，失败%(rejected)s条", saved=result.saved, rejected=result.rejected_total),
           "success" if not result.rejected_total else "warning")
    return result


class ConsumableItemView(UnitScopedModelView):
    datamodel = SQLAInterface(QualItem)
    route_base = "/procurement/items"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]

    @expose("/list/")
    @has_access
    def list(self):
        code = (request.args.get("q") or "").strip()[:20]
        name = (request.args.get("name") or "").strip()[:60]
        stmt = self.scoped_query()
        if code:
            stmt = stmt.where(QualItem.code.startswith(code, autoescape=True))
        if name:
            stmt = stmt.where(QualItem.code.in_(select(NationalItem.code).where(
                NationalItem.name.contains(name, autoescape=True))))
        page = keyset_page(stmt, QualItem.code, filters={"q": code, "name": name},
                           after=request.args.get("after"), before=request.args.get("before"))
        items = page.rows
        nationals = {n.code: n for n in db.session.scalars(select(NationalItem).where(
            NationalItem.code.in_([i.code for i in items])))} if items else {}
        used = set(db.session.scalars(select(QualProduct.item_id).where(
            QualProduct.item_id.in_([i.id for i in items])).distinct())) if items else set()
        return self.render_template("products/items.html", items=items, page=page, nationals=nationals, used=used,
                                    standings=chain.standings_for_codes(current_unit_id(), [i.code for i in items]),
                                    reminders=item_reminders(current_unit_id(), [i.code for i in items]),
                                    form=EmptyForm(), title="耗材单件列表")

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        errors = {}
        if request.method == "POST":
            done, errors = apply_post(lambda: products.add_items(g.user, request.form.getlist("codes")),
                                      "单件添加成功", url_for("ConsumableItemView.list"))
            if done:
                return done
        args = {k: (request.args.get(k) or "")[:60] for k in ("name", "code", "cert_no")}
        options = products.selectable_items(g.user, args["name"], code=args["code"], cert_no=args["cert_no"])
        return self.render_template("products/item_add.html", options=options, errors=errors, form=EmptyForm(),
                                    title="新增单件")

    # FAB's generic pages would let a code be edited or an item with products vanish.
    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        return redirect(url_for("ConsumableItemView.products", pk=self.get_owned_or_404(pk).id))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        self.get_owned_or_404(pk)
        abort(404)

    @expose("/delete/<pk>", methods=["GET", "POST"])
    @has_access
    def delete(self, pk):
        self.get_owned_or_404(pk)
        abort(404)

    @expose("/remove/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def remove(self, pk):
        """删除 of a single item added by mistake, while no packaging was entered under it."""
        item = self.get_owned_or_404(pk)
        apply_post(lambda: products.remove_item(g.user, item), "已删除该单件", "")
        return redirect(url_for("ConsumableItemView.list"))

    @expose("/products/<int:pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("edit")
    def products(self, pk):
        """维护产品信息: the item's products, 新增包装, 导入, 下载模板."""
        item = self.get_owned_or_404(pk)
        errors, result = {}, None
        if request.method == "POST":
            if request.form.get("op") == "import":
                result = _import(item)
            else:
                done, errors = apply_post(
                    lambda: products.add_packaging(g.user, item, _packaging_from_form(),
                                                   submit=request.form.get("action") == "submit"),
                    "包装信息已保存", url_for("ConsumableItemView.products", pk=item.id))
                if done:
                    return done
        rows = products.item_products(g.user, item)
        national = db.session.scalar(select(NationalItem).where(NationalItem.code == item.code))
        specs = list(db.session.scalars(select(NationalSpec).where(NationalSpec.item_id == national.id)
                                        .order_by(NationalSpec.code))) if national else []
        return self.render_template(
            "products/item_products.html", item=item, national=national, specs=specs, rows=rows,
            spec_map={s.code: s for s in specs}, transfers=transfers_for(r.code for r in rows),
            errors=errors, result=result, form=EmptyForm(),
            measure_units=products.dictionary_units(MEASURE_UNIT), package_units=products.dictionary_units(PACKAGE_UNIT),
            data=request.form if request.method == "POST" and errors else None, removable=_removable(rows),
            allowed=lambda r: engine.allowed_actions(r, g.user), states=STATE_LABELS, title="维护产品信息")


class ConsumableProductView(WorkflowModelView):
    datamodel = SQLAInterface(QualProduct)
    route_base = "/procurement/products"
    record_type = products.PRODUCT
    deleted_message = "已删除该包装信息"

    def delete_draft(self, record) -> None:
        products.delete_draft(g.user, record)

    list_template, list_title = "products/products.html", "耗材产品列表"
    show_template, show_title = "products/product_show.html", "产品详情"

    def list_context(self, rows) -> dict:
        return {"spec_map": _specs_by_code(r.code for r in rows), "transfers": transfers_for(r.code for r in rows)}

    def show_context(self, record) -> dict:
        item_code = record.item.code if record.item else record.code[:20]
        return {"national_item": db.session.scalar(select(NationalItem).where(NationalItem.code == item_code)),
                "spec": _specs_by_code([record.code]).get(record.code)}

    @expose("/list/", methods=["GET", "POST"])
    @has_access
    def list(self):
        """耗材产品列表, whose 导入 posts to the list itself."""
        return self.render_list(result=_import(None) if request.method == "POST" else None)

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        """Packaging is added on its single item's page (维护产品信息 → 新增包装), never generically."""
        notify(N_("请在耗材单件列表中点击“维护产品信息”后新增包装"), "info")
        return redirect(url_for("ConsumableItemView.list"))

    @expose("/edit/<int:pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        record = self.get_owned_or_404(pk)
        refused = self.refuse_unless_editable(record)
        if refused:
            return refused
        errors = {}
        if request.method == "POST":
            submit = request.form.get("action") == "submit"
            done, errors = apply_post(
                lambda: products.update_packaging(g.user, record, _packaging_from_form(record.code), submit=submit),
                "已提交，等待审核" if submit else "保存成功", url_for("ConsumableProductView.list"))
            if done:
                return done
        return self.render_template(
            "products/product_form.html", record=record, spec=_specs_by_code([record.code]).get(record.code),
            errors=errors, data=request.form if request.method == "POST" else None, form=EmptyForm(),
            measure_units=products.dictionary_units(MEASURE_UNIT), package_units=products.dictionary_units(PACKAGE_UNIT),
            title="编辑产品包装")

    @expose("/deactivate/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def deactivate(self, pk):
        """停用 of an effective packaging: a request through review."""
        record = self.get_owned_or_404(pk)
        apply_post(lambda: products.request_deactivation(g.user, record),
                   "已提交停用申请，审核通过前该包装仍然有效", "")
        return redirect(_back(url_for("ConsumableProductView.list")))

    @expose("/transfer/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def transfer(self, pk):
        """转码: open a change revision of an effective product moved to its new national code."""
        record = self.get_owned_or_404(pk)
        old_code, made = record.code, []
        done, _ = apply_post(
            lambda: made.append(products.transfer_code(g.user, record, request.form.get("new_code", ""))),
            lambda: Msg("已按国家转码生成变更（%(old)s → %(new)s），请核对包装信息后提交审核", old=old_code, new=made[0].code),
            "")
        if done is None:
            return redirect(_back(url_for("ConsumableProductView.list")))
        return redirect(url_for("ConsumableProductView.edit", pk=made[0].id))

    @expose("/template")
    @has_access
    @permission_name("list")
    def template(self):
        return xlsx_response(product_import.template(), "耗材产品包装导入模板.xlsx")

    @expose("/import/<string:token>/errors")
    @has_access
    @permission_name("list")
    def error_log(self, token):
        log = product_import.find(g.user, token)
        if log is None or log.errors_json is None:  # unknown, or pruned (IMPORT_ERROR_FILE_RETENTION_DAYS)
            abort(404)
        return xlsx_response(product_import.error_log(log), "错误日志.xlsx")


class ConsumableProductQueryView(BaseView):
    """耗材产品查询: read-only search over every manufacturer's effective products."""

    route_base = "/procurement/product-query"
    default_view = "list"

    @expose("/list/")
    @has_access
    def list(self):
        filters = product_query.clean_filters(request.args)
        page = product_query.search(filters, after=request.args.get("after", type=int))
        return self.render_template("products/query.html", page=page, filters=filters, title="耗材产品查询")

    @expose("/export")
    @has_access
    @permission_name("list")
    def export(self):
        filters = product_query.clean_filters(request.args)
        return xlsx_response(product_query.export(filters), "耗材产品查询.xlsx")
