"""A second fixture archive for the relevance-first briefing: one topic (financing of extremist
groups) whose articles also hold sentences off the topic or off every aspect, an article with no
date and no source, and invisible characters, with a lexical `search` like tests.briefing.archive.

THRESHOLDS suit tests.fakes.FakeEmbedder (hashed bags of terms: cosine ~ shared terms).
"""
from __future__ import annotations

from rag.briefing.relevance import Thresholds
from rag.types import Filters, Hit
from tests.briefing.archive import chunks_of, term_search

TOPIC = "تمويل الجماعات المتطرفة"
ASPECTS = ("الشركات الواجهة", "الحوالات غير الرسمية", "العملات الرقمية")
THRESHOLDS = Thresholds(topic=0.2, aspect=0.3, lex_weight=0.1, min_support=2, thin=2,
                        model="fake-hash-64")

FRONT = ("تعتمد الجماعات المتطرفة في تمويل أنشطتها على الشركات الواجهة التي تعمل في الظاهر بشكل مشروع.",
         "ورصد تقرير التمويل 37 شركة واجهة للجماعات المتطرفة أغلقت منها 22 شركة عام 2016.")
HAWALA = ("\u200fوتنقل الحوالات غير الرسمية أموال تمويل الجماعات المتطرفة عبر وسطاء لا يتركون أثرا.",
          "واستخدم الوسطاء الحوالات غير الرسمية في تمويل الجماعات\u200b المتطرفة في آذار 2015.")
GENERAL = "ويرى باحثون أن مصادر تمويل الجماعات المتطرفة تغيرت كثيرا بعد خسارة المدن."
OFF_TOPIC = "ويقدم برنامج مسار دروسا لإعادة تأهيل السجناء منذ عام 2019 في سجون العاصمة."
UNDATED = ("ويصعب رصد تمويل الجماعات المتطرفة عبر الحوالات غير الرسمية لأنها تقوم على الثقة بين الوسطاء.",
           "وتلجأ الجماعات المتطرفة إلى الشركات الواجهة لغسل أموال التمويل في قطاع التجارة.")

ARTICLES = [
    ("f1", "2017-09-03", "مرصد آفاق", "ليلى منصور", "اقتصاد الظل وتمويل الجماعات المتطرفة",
     " ".join(FRONT) + "\n\n" + " ".join(HAWALA) + " " + GENERAL),
    ("f2", "", "", "", "كيف تمول الجماعات المتطرفة أنشطتها", " ".join(UNDATED)),
    ("f3", "2019-05-01", "المعهد العربي", "كريم العطار", "التطرف والتمويل والسجون",
     "تتنوع مصادر تمويل الجماعات المتطرفة بين الجريمة والتبرعات. " + OFF_TOPIC),
]


CHUNKS = chunks_of(ARTICLES)


def search(query: str, filters: Filters, k: int) -> list[Hit]:
    return term_search(CHUNKS, query, filters, k)
