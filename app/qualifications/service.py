"""The qualification flow: questions in order, each with its options."""

from app.extensions import db
from app.models.widget import QualificationOption, QualificationQuestion


def save_question(flow, question: QualificationQuestion | None, form) -> QualificationQuestion:
    """Create or update a question from a validated form; its options are replaced by the form's rows."""
    if question is None:
        question = QualificationQuestion(organization_id=flow.organization_id,
                                         position=len(flow.questions) + 1)
        flow.questions.append(question)
    question.label = form.label.data.strip()
    question.type = form.type.data
    question.required = form.required.data
    is_number = question.type == "number"
    question.min_value = form.min_value.data if is_number else None
    question.max_value = form.max_value.data if is_number else None
    question.options.clear()
    if question.has_options:
        for position, (label, value, disqualifies) in enumerate(form.filled_options(), start=1):
            question.options.append(QualificationOption(
                organization_id=flow.organization_id, label=label, value=value,
                position=position, disqualifies=disqualifies))
    db.session.flush()
    return question


def renumber(flow) -> None:
    for position, question in enumerate(sorted(flow.questions, key=lambda q: q.position), start=1):
        question.position = position


def move(question: QualificationQuestion, direction: str) -> None:
    """Swap a question with its neighbour above or below."""
    ordered = sorted(question.flow.questions, key=lambda q: q.position)
    index = ordered.index(question)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, q in enumerate(ordered, start=1):
        q.position = position


def delete(question: QualificationQuestion) -> None:
    flow = question.flow
    flow.questions.remove(question)
    renumber(flow)


def draft_json(form, question_id: str, position: int) -> dict:
    """A validated, unsaved question in the widget config's shape (with its rules, for the preview)."""
    has_options = form.type.data in ("single_select", "multi_select")
    is_number = form.type.data == "number"
    return {
        "id": question_id, "label": form.label.data.strip(), "type": form.type.data,
        "required": form.required.data, "position": position,
        "min": form.min_value.data if is_number else None, "max": form.max_value.data if is_number else None,
        "options": [{"label": label, "value": value, "disqualifies": disqualifies}
                    for label, value, disqualifies in form.filled_options()] if has_options else [],
    }
