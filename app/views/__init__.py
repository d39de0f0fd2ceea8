"""View registration: one module per menu area, all thin."""
from __future__ import annotations


def register_views(appbuilder) -> None:
    from app.views import admin, hall, products, qualification, register, review, unit_admin

    appbuilder.add_view_no_menu(register.RegisterView())
    appbuilder.add_view_no_menu(hall.HallView())
    appbuilder.add_view_no_menu(hall.ProcurementView())
    from app.views.api_keys import ApiKeyView

    appbuilder.add_view_no_menu(ApiKeyView())
    appbuilder.add_view_no_menu(unit_admin.OperatorView())
    appbuilder.add_view_no_menu(unit_admin.AccountRoleView())
    appbuilder.add_view_no_menu(qualification.ConsumableEntrustmentView())
    appbuilder.add_view_no_menu(qualification.ConsumableCertificateView())
    appbuilder.add_view_no_menu(products.ConsumableItemView())
    appbuilder.add_view_no_menu(products.ConsumableProductView())
    appbuilder.add_view_no_menu(products.ConsumableProductQueryView())
    review.register(appbuilder)
    qualification.register_template_helpers(appbuilder.app)
    admin.register(appbuilder)
    from app.views import national

    national.register(appbuilder)
    from app.views import overview

    overview.register(appbuilder)
    from app import api

    api.register(appbuilder)
