from flask import Blueprint

from app.security import public_blueprint

bp = Blueprint("custom_scripts", __name__)
# the scripts' files and the widget's reports: reached from customers' pages too
files_bp = public_blueprint(Blueprint("custom_script_files", __name__))

from app.custom_scripts import files, routes, runtime  # noqa: E402,F401
