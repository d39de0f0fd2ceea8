"""Extension objects (no app is built at import time)."""
from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate

db = SQLA()
migrate = Migrate()
