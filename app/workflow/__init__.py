"""One review workflow engine for every qualification record type."""
from app.workflow.engine import (  # noqa: F401
    ACTION_LABELS, STATE_LABELS, Actor, RecordType, State, WorkflowError, allowed_actions, apply,
    assert_editable, batch, history_of, open_change, register_record_type, record_type_of,
)
