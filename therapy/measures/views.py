"""Administration of measures: the list, and importing a practice's own definition file."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from werkzeug.wrappers import Response

from therapy.extensions import login_manager
from therapy.forms import BaseForm
from therapy.measures import services
from therapy.measures.definitions import MAX_DEFINITION_BYTES, MeasureDefinitionError

bp = Blueprint("measures", __name__, url_prefix="/admin/measures")


class ImportForm(BaseForm):
    definition = FileField(
        "Measure definition file (.toml)",
        validators=[FileRequired(message="Choose a .toml file to import.")],
        description="A TOML file in Tandem's measure format, at most 200 KB.",
    )


@bp.before_request
def administrators_only() -> Response | None:
    if not current_user.is_authenticated:
        response: Response = login_manager.unauthorized()
        return response
    if not current_user.is_admin:
        abort(404)
    return None


def _page(form: ImportForm, status: int = 200) -> tuple[str, int]:
    return render_template("measures/index.html", form=form, measures=services.measures()), status


@bp.get("")
def index() -> tuple[str, int]:
    return _page(ImportForm())


@bp.post("")
def import_definition() -> tuple[str, int] | Response:
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.definition.data
        raw = upload.stream.read(MAX_DEFINITION_BYTES + 1)
        try:
            row = services.import_measure(raw, current_user)
        except MeasureDefinitionError as exc:
            form.definition.errors = [f"This file cannot be used: {exc}"]
        else:
            flash(f"Imported {row.name}. Therapists can now enter its scores.", "success")
            return redirect(url_for("measures.index"))
    return _page(form, 422)
