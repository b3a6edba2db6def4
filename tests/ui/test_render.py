"""ui.render is pure: escaping, direction per script, refusal style, marker links, highlights."""
import re

from rag.types import Answer, Chunk, Citation, DocInfo, Hit
from ui import render

XSS_TITLE = "<script>window.__xss=1</script>"
XSS_TEXT = 'نص <img src=x onerror="window.__xss=1"> ثم ${alert(1)} و{{x}}'


def cite(n=1, text="الجملة الأولى. الجملة الثانية المهمة. الجملة الثالثة.", quote="الجملة الثانية المهمة.",
         title="عنوان المقال", author="كاتب", source="مصدر", date="2019-03-03T10:15:00"):
    return Citation(n=n, chunk_id=f"c{n}", doc_id=f"d{n}", title=title, date=date, author=author,
                    source=source, text=text, score=0.5, quote=quote)


def answer(text="الجواب هنا [1] وهناك [2].", citations=None, refused=False, nearest=(), mode="extractive",
           question="ما الجواب؟"):
    return Answer(question=question, text=text, mode=mode, refused=refused,
                  citations=tuple(citations if citations is not None else [cite(1), cite(2)]), nearest=nearest)


def test_archive_markup_is_escaped_everywhere():
    a = answer(text=f"{XSS_TITLE} قال [1]", citations=[cite(1, text=XSS_TEXT, quote="", title=XSS_TITLE,
                                                             author="<b>x</b>", source='"><svg onload=1>')])
    out = render.render_answer(a, "t1")
    assert "<script" not in out and "<img" not in out and "<svg" not in out and "<b>" not in out
    assert "&lt;script&gt;" in out and "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in out
    assert "${" not in out and "{{" not in out  # template syntax neutralised too
    docs = render.render_documents([DocInfo("d1", "k", "/p", XSS_TITLE, "2019", "<i>a</i>", "s", 3, "h", "t")])
    assert "<script" not in docs and "&lt;script&gt;" in docs and "<i>" not in docs


def test_no_raw_newlines_so_markdown_cannot_reinterpret_the_html():
    a = answer(text="سطر أول [1]\n\nسطر ثان", citations=[cite(1, text="فقرة\n\n# عنوان\n* بند")])
    out = render.render_answer(a, "t")
    assert "\n" not in out and "<br><br>" in out


def test_direction_per_message_and_per_card():
    ar = render.render_answer(answer(), "a")
    assert re.search(r'class="rag-msg rag-answer"[^>]*dir="rtl"', ar)
    en = render.render_answer(answer(text="The answer [1].", question="What?",
                                     citations=[cite(1, text="An English passage.", title="English title",
                                                     quote="")]), "e")
    assert re.search(r'class="rag-msg rag-answer"[^>]*dir="ltr"', en) and 'class="rag-card" id="src-e-1" dir="ltr"' in en
    assert 'dir="rtl"' in render.render_question("سؤال؟") and 'dir="ltr"' in render.render_question("Question?")


def test_markers_link_to_their_cards_and_unknown_markers_stay_text():
    out = render.render_answer(answer(text="أ [1] ب [2] ج [7]"), "x9")
    assert '<a class="rag-cite" href="#src-x9-1">[1]</a>' in out
    assert '<a class="rag-cite" href="#src-x9-2">[2]</a>' in out
    assert 'id="src-x9-1"' in out and 'id="src-x9-2"' in out
    assert "[7]" in out and "#src-x9-7" not in out


def test_answer_ids_cannot_inject_attributes():
    out = render.render_answer(answer(), 'x" onclick="alert(1)')
    assert 'onclick=' not in out and 'id="ans-xonclickalert1"' in out


def test_cited_sentence_is_highlighted():
    out = render.source_card(cite(1), "h")
    assert "<mark>الجملة الثانية المهمة.</mark>" in out
    assert out.count("<mark>") == 1 and "rag-full" not in out  # a short passage is shown once
    # A quote of several sentences not contiguous in the passage still marks each one.
    c = cite(1, text="أولى هنا. ثانية هنا. ثالثة هنا.", quote="أولى هنا. ثالثة هنا.")
    assert render.highlight(c.text, c.quote).count("<mark>") == 2
    assert "<mark>&lt;b&gt;</mark>" in render.highlight("a <b> c", "<b>")


def test_card_shows_title_date_author_source():
    out = render.source_card(cite(3), "m")
    assert "عنوان المقال" in out and "2019-03-03" in out and "T10:15" not in out
    assert "كاتب" in out and "مصدر" in out and '<span class="rag-n">3</span>' in out


def test_refusal_looks_different_and_shows_nearest_passages():
    ch = Chunk("c1", "d1", "مقطع قريب <script>x</script>", 0, 0, 10, title="أقرب مقال", date="2020-01-01",
               author="فلان", source="جريدة")
    out = render.render_answer(answer(text="لا أجد في الأرشيف جوابًا.", citations=[], refused=True,
                                      nearest=(Hit(ch, 0.1),)), "r")
    assert "rag-refusal" in out and "rag-answer" not in out
    assert "أقرب مقال" in out and "rag-near" in out and "&lt;script&gt;" in out and "<script" not in out
    assert "rag-cite" not in out


def test_mode_badge_and_banner_name_the_mode():
    assert "rag-mode-extractive" in render.render_answer(answer(), "a")
    assert "rag-mode-llm" in render.render_answer(answer(mode="llm"), "a")
    assert "rag-mode-llm" in render.mode_banner("llm", "qwen")


def test_stats_summary_and_streaming():
    s = render.render_stats({"documents": 3, "chunks": 0, "embedding_model": "m<x>", "last_ingest": ""})
    assert ">3<" in s and ">0<" in s and "m&lt;x&gt;" in s
    summ = render.render_ingest_summary({"added": 2, "skipped": [{"name": "../a.exe", "reason": "bad <x>"}]})
    assert "أضيفت: 2" in summ and "../a.exe" in summ and "bad &lt;x&gt;" in summ
    assert 'dir="rtl"' in render.render_streaming("جواب جزئي <b>")
    assert "&lt;b&gt;" in render.render_streaming("جواب جزئي <b>")
    assert render.render_documents([]).count("rag-empty") == 1


def test_briefing_frame_is_sandboxed_and_escaped():
    out = render.briefing_frame('<!DOCTYPE html>\n<p dir="rtl">نص <script>x</script> ${a}</p>')
    assert out.startswith('<iframe class="rag-brief-frame" sandbox="allow-same-origin"')
    assert "allow-scripts" not in out and "<script" not in out and "${" not in out
    assert "&lt;p dir=&quot;rtl&quot;&gt;" in out and "<br>" not in out


def test_card_shows_the_quote_in_context_and_the_passage_collapsed():
    long = "بداية " * 80 + "الجملة المقتبسة هنا. " + "نهاية " * 80
    out = render.source_card(cite(1, text=long, quote="الجملة المقتبسة هنا."), "c")
    context = re.search(r'<div class="rag-context">(.*?)</div>', out).group(1)
    assert "<mark>الجملة المقتبسة هنا.</mark>" in context and len(context) < 500
    assert context.startswith("…") and context.endswith("…")
    assert '<details class="rag-full">' in out and "<details class=\"rag-full\" open" not in out
    assert out.count("<mark>") == 2  # in the context shown and in the collapsed full passage


def test_refusal_nearest_collapsed_one_per_document():
    def hit(cid, doc, title):
        return Hit(Chunk(cid, doc, "نص " + cid, 0, 0, 5, title=title), 0.1)

    near = (hit("c1", "d1", "أول"), hit("c2", "d1", "أول"), hit("c3", "d2", "ثان"), hit("c4", "d3", "ثالث"),
            hit("c5", "d4", "رابع"))
    out = render.render_answer(answer(text="لا أجد جوابًا.", citations=[], refused=True, nearest=near), "r")
    assert '<details class="rag-nearest">' in out and "open" not in out
    assert out.count("rag-near\"") == 3 and out.count(">أول<") == 1
    assert out.index("لا أجد جوابًا.") < out.index("rag-nearest")


def test_documents_table_pages_no_match_and_file_name_dates():
    rows = [DocInfo(f"d{i}", "k", f"/n/2024-01-{i + 1:02d}_news.txt", f"عنوان {i}", "", "", "", 1, "h", "t")
            for i in range(30)]
    first = render.render_documents(rows)
    assert first.count("<tr>") == render.PAGE_SIZE + 1 and "الصفحة 1 من 2" in first
    second = render.render_documents(rows, page=2)
    assert second.count("<tr>") == 5 + 1 and "عنوان 29" in second
    assert 'class="rag-docs-wrap"' in first and "rag-col-id" in first
    assert "2024-01-01" in first and "من اسم الملف" in first
    assert "لا وثيقة تطابق «زيت»" in render.render_documents([], query="زيت")
    assert render.date_from_name("/a/20240130-x.txt") == "2024-01-30" and render.date_from_name("/a/123.txt") == ""


def test_skip_reasons_read_in_arabic():
    summ = render.render_ingest_summary({"skipped": [{"name": "a.exe", "reason": "unsupported file type; allowed: .txt"},
                                                     {"name": "z.zip/b", "reason": "entry 'b' is a symbolic link"}]})
    assert "نوع ملف غير مدعوم" in summ and "رابط رمزي" in summ and 'title="unsupported file type' in summ


def test_a_source_card_warns_of_instructions_addressed_to_an_assistant():
    from rag.answering.extractive import extractive_answer
    from tests.answering.test_extractive import INJECTION, make_hits

    answer = extractive_answer("ماذا يزرع الفلاحون على ضفاف النهر؟", make_hits(INJECTION))
    html = render.render_answer(answer, "a1")
    assert "rag-instructions" in html and "تعليمات موجهة إلى مساعد" in html and "تجاهل التعليمات" in html


def test_document_paths_are_shown_relative_to_their_archive():
    assert render.shown_path("/srv/rag/data/uploads/20261201-101500-ab12/batch.zip/docs/a.txt") == "batch.zip/docs/a.txt"
    assert render.shown_path("/home/amal/archive/ant5000/articles/00001_x.txt") == "articles/00001_x.txt"
    row = DocInfo("d1", "k", "/srv/rag/data/uploads/20261201-101500-ab12/a.txt", "", "", "", "", 1, "h", "")
    assert render.plain_rows([row])[0]["file_path"] == "a.txt"


def test_a_source_card_names_the_other_outlets_that_carried_the_story():
    from rag.types import ClusterCopy

    copies = (ClusterCopy("d2", "نسخة", "BBC", "2018-01-02", "https://www.bbc.com/arabic/x"),
              ClusterCopy("d3", "نسخة", "CNN", "2018-01-03", "javascript:alert(1)"),
              ClusterCopy("d4", "نسخة", "SkyNews", "2018-01-04"))
    c = Citation(1, "c1", "d1", "خبر", "2018-01-01", "", "AlArabiya", "نص الخبر كما نشر.", 1.0,
                 quote="نص الخبر كما نشر.", cluster_id="d1", also_in=copies)
    html = render.render_answer(Answer("س؟", "نص الخبر كما نشر. [1]", "extractive", False, (c,)), "a1")
    assert "نشرته أيضًا: BBC، CNN (+1)" in html
    assert html.count("rag-copy-meta") == 3 and "SkyNews · 2018-01-04" in html  # each copy, folded under the line
    assert 'href="https://www.bbc.com/arabic/x"' in html and "javascript:" not in html  # links to web copies only
