"""Pure HTML rendering for the Gradio app, by job: `common` (escaping, direction, dates, mode
banner, briefing frame), `chat` (answers, refusals, source cards) and `archive` (document table,
index facts, ingest summary). No Gradio import, so every rule is unit-testable; the names are
re-exported here so `from ui import render; render.render_answer(...)` keeps working.
"""
from ui.render.archive import (  # noqa: F401
    PAGE_SIZE,
    arabic_reason,
    page_count,
    page_rows,
    plain_rows,
    render_documents,
    render_ingest_summary,
    render_stats,
    shown_path,
)
from ui.render.chat import (  # noqa: F401
    answer_id,
    card_id,
    context_of,
    highlight,
    nearest_by_document,
    render_answer,
    render_error,
    render_question,
    render_streaming,
    searched_as,
    source_card,
)
from ui.render.common import (  # noqa: F401
    MODE_LABELS,
    briefing_frame,
    date_from_name,
    direction,
    esc,
    mode_badge,
    mode_banner,
)
