"""The Gradio app behind `rag serve`: chat, archive, briefing (and evaluation when present).

The UI owns no pipeline and no database session: `Services` holds the library objects (store,
retriever, Assistant, rating store) built once, and every handler is a thin call into them with
HTML from ui.render. Dependencies are injectable (`build_app(settings, assistant=, embedder=)`)
so tests run the real app on a fake embedder. Named API routes (ask, upload, documents,
remove_document, feedback, stats) serve gradio_client users and the tests.

Module map: app (Services, build_app, launch, serve), chat_tab, archive_tab, briefing_tab,
eval_tab, api (the gr.api routes), forms (plain form helpers), feedback, render/ (pure HTML).
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from rag.config import Settings
from ui import render
from ui.api import add_routes
from ui.archive_tab import archive_tab
from ui.auth import exposure_warning, make_auth, parse_users, role_of
from ui.briefing_tab import briefing_tab
from ui.chat_tab import archive_facts, chat_tab, conversation_choices, messages_of, user_of, welcome_html  # noqa: F401
from ui.eval_tab import evaluation_tab, ratings_path
from ui.feedback import RATED_SETTINGS, login_name, rated_settings  # noqa: F401
from ui.forms import (  # noqa: F401  (re-exported: callers and tests import them from ui.app)
    MAX_QUESTION_CHARS,
    date_errors,
    history_of,
    make_filters,
    normal_date,
    parse_history,
    question_error,
)
from ui.history import ConversationStore, history_path
from ui.login_limit import ClientAddress, Limits, LoginLimiter, LoginRefused

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


@dataclass
class Services:
    """Library objects the handlers call; built once per app."""

    settings: Settings
    store: Any
    embedder: Any
    retriever: Any
    assistant: Any
    ratings: Any
    conversations: Any = None
    users: dict = field(default_factory=dict)  # login name -> ui.auth.User (empty: no login)
    briefing_ratings: Any = None  # evals.briefing_ratings.BriefingRatingStore, beside `ratings`
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rag-app-")))

    @classmethod
    def build(cls, settings: Settings, assistant=None, embedder=None) -> Services:
        from evals.ratings import RatingStore
        from rag.services import make_assistant, open_archive
        from rag.text.arabic import roots

        # An empty data dir is fine (the Archive tab fills it); an index built with another model
        # is refused before anyone asks.
        archive = open_archive(settings, embedder=embedder, require=False)
        if assistant is None:
            assistant = make_assistant(settings, archive)
        ratings = RatingStore(ratings_path(settings), settings.answer_retention_days)
        roots("تمهيد")  # loads the root stemmer (nltk, ~1 s) now rather than on the first question
        from evals.briefing_ratings import BriefingRatingStore

        return cls(settings, archive.store, archive.embedder, archive.retriever, assistant, ratings,
                   ConversationStore(history_path(settings.data_dir)), parse_users(settings.auth),
                   BriefingRatingStore(ratings_path(settings)))

    def role(self, request) -> str:
        """The caller's role (ui.auth.ROLES; admin when no login is configured)."""
        return role_of(self.users, login_name(request))

    @property
    def mode(self) -> str:
        return getattr(self.assistant, "mode", "extractive")


# -- the app ------------------------------------------------------------------------------------
def build_app(settings: Settings, *, assistant=None, embedder=None) -> gr.Blocks:
    svc = Services.build(settings, assistant=assistant, embedder=embedder)
    with gr.Blocks(title="أرشيف — مساعد البحث", analytics_enabled=False) as app:
        gr.HTML(f'<div class="rag-title" dir="rtl"><h1>مساعد الأرشيف</h1></div>{_banner(svc)}')
        client_id = gr.BrowserState(None, storage_key="rag-client-id")
        with gr.Tabs():
            with gr.Tab("المحادثة", id="chat"):
                facet_pickers, chat_load = chat_tab(svc, client_id)
            with gr.Tab("الأرشيف", id="archive"):
                refresh, search, outs, archive_perms = archive_tab(svc, facet_pickers)
            with gr.Tab("الموجز", id="briefing"):
                briefing_tab(svc)
            with gr.Tab("التقييم", id="evaluation"):
                eval_load = evaluation_tab(settings, ratings_path(settings), embedder=svc.embedder,
                                           llm=getattr(svc.assistant, "llm", None), search=svc.retriever.search)
        add_routes(svc)
        app.load(refresh, search, outs, api_visibility="private")
        app.load(*chat_load, api_visibility="private")
        app.load(*archive_perms, api_visibility="private")  # upload/remove shown to editors and admins only
        app.load(*eval_load, api_visibility="private")  # the rater is the login name
    app.rag_services = svc  # for tests and embedding callers
    return app


def _banner(svc: Services) -> str:
    s = svc.settings
    detail = s.llm_model or (Path(s.gguf_path).name if s.gguf_path else "") if svc.mode == "llm" else ""
    return render.mode_banner(svc.mode, detail)


# Gradio's own strings with i18n keys that its Arabic locale lacks or words oddly (the page is put
# in that locale by app.js; without these they show in English or, for "common.complete", as the
# raw key). A flat "a.b" key here wins over Gradio's own {"a": {"b": ...}} in the same locale.
# The strings Gradio writes as literals, with no key, are in app.js (LITERAL).
GRADIO_I18N = {
    "ar": {"common.complete": "اكتمل", "chatbot.complete": "اكتمل", "chatbot.copy_message": "انسخ الرسالة",
           "chatbot.copied_message": "نُسخت الرسالة", "errors.use_via_api": "الاستخدام عبر API",
           "errors.use_via_api_or_mcp": "الاستخدام عبر API أو MCP", "common.built_with_gradio": "بُني باستخدام Gradio",
           "common.progress": "التقدّم", "common.download_all": "نزّل الكل",
           "status.queue_position": "في الانتظار: {position} من {size}"},
    "en": {"common.complete": "Complete"},
}


def login_check(settings: Settings, limits: Limits | None = None):
    """Gradio's auth callable (None without a login). Past a failure limit a login is answered
    HTTP 429 with the reason, not Gradio's "Incorrect credentials". Failures count per user name
    and client address, and per address (ui.login_limit; the address comes from the ClientAddress
    middleware launch installs). Gradio awaits a coroutine on its event loop, so the password
    hashing (~0.5 s) runs in a worker thread instead of stalling every other user."""
    limits = limits or Limits(LoginLimiter(settings.login_max_failures, settings.login_window_s),
                              LoginLimiter(settings.login_address_max_failures, settings.login_window_s))
    check = make_auth(settings.auth, limits)
    if check is None:
        return None

    async def gradio_check(username: str, password: str) -> bool:
        import anyio
        from fastapi import HTTPException

        try:
            return await anyio.to_thread.run_sync(check, username, password)  # copies CLIENT_ADDRESS
        except LoginRefused as e:
            raise HTTPException(status_code=429, detail=str(e)) from e

    return gradio_check


LOGIN_MESSAGE = ("سجّل الدخول للوصول إلى الأرشيف. بعد {n} محاولات فاشلة خلال {s} ثانية يُرفض الدخول لهذا "
                 "المستخدم من العنوان نفسه حتى تنقضي المدة. (After {n} failed logins within {s} s a user is "
                 "refused from that address until the time passes.)")


def launch(app: gr.Blocks, settings: Settings, **kw):
    """Launch with the app's CSS/JS, login when configured, and the upload size limit."""
    theme = gr.themes.Default(font=["Noto Naskh Arabic", "Noto Sans Arabic", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    options = dict(server_name=settings.host, server_port=settings.port, auth=login_check(settings),
                   auth_message=LOGIN_MESSAGE.format(n=settings.login_max_failures, s=settings.login_window_s), max_file_size=f"{settings.upload_max_mb}mb",
                   css=(STATIC / "app.css").read_text(encoding="utf-8"),
                   js=(STATIC / "app.js").read_text(encoding="utf-8"), theme=theme, ssr_mode=False,
                   footer_links=["api"], allowed_paths=[str(app.rag_services.tmp)],
                   i18n=gr.I18n(**GRADIO_I18N))
    options.update(kw)
    # The login limit keys on the client's address: uvicorn takes it from X-Forwarded-For only for
    # these proxies (its own default trusts any local process to name itself any address).
    os.environ["FORWARDED_ALLOW_IPS"] = ",".join(settings.trusted_proxies)
    options["app_kwargs"] = {**options.get("app_kwargs", {}),
                             "middleware": [Middleware(ClientAddress)]}
    warning = exposure_warning(options["server_name"], settings.auth, settings.insecure_no_login)
    if warning:
        log.warning(warning)
        print(warning, file=sys.stderr)
    return app.queue(default_concurrency_limit=4).launch(**options)


def serve(settings: Settings) -> None:
    """`rag serve`: build the app on the configured index and block serving it."""
    exposure_warning(settings.host, settings.auth, settings.insecure_no_login)  # refuse before loading
    app = build_app(settings)
    where = f"http://{settings.host}:{settings.port}"
    print(f"serving the archive at {where}" + (" (login required)" if settings.auth else ""))
    launch(app, settings)
