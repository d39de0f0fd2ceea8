"""广东医保服务平台 home page (FAB index view)."""
from flask_appbuilder import IndexView, expose


class HomeView(IndexView):
    route_base = ""
    index_template = "home.html"

    @expose("/")
    def index(self):
        return self.render_template(self.index_template)
