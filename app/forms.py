"""The base of every dashboard form.

Databases cannot store NUL (PostgreSQL refuses it in text), so every field of every form refuses
it: the message appears next to the field and the field's value is cleaned, so no validator or
query ever sees it. Forms inherit from `Form`, not FlaskForm (tests/test_inbound.py checks).
"""

import wtforms
from flask_wtf import FlaskForm

from app.inbound import NUL, NUL_MESSAGE


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    return isinstance(value, list | tuple) and any(isinstance(v, str) and NUL in v for v in value)


def _without_nul(value):
    if isinstance(value, str):
        return value.replace(NUL, "")
    return [v.replace(NUL, "") if isinstance(v, str) else v for v in value]


class _RefuseNul:
    """Meta mixin: every bound field gets a last filter that refuses (and removes) NUL."""

    def bind_field(self, form, unbound_field, options):
        field = super().bind_field(form, unbound_field, options)

        def refuse_nul(value):
            if not _has_nul(value):
                return value
            field.process_errors.append(NUL_MESSAGE)
            field.raw_data = _without_nul(field.raw_data or [])  # re-rendered without it
            return _without_nul(value)

        field.filters = (*field.filters, refuse_nul)
        return field


class Form(FlaskForm):
    class Meta(_RefuseNul):
        pass


class SubForm(wtforms.Form):
    """A form nested in another with FormField (no CSRF of its own): refuses NUL too."""

    class Meta(_RefuseNul):
        pass
