"""A fixture archive of short Arabic articles written for the briefing tests, and searches over it.

Six articles on antiquities smuggling (a1-a6) and two off-topic ones (o1, o2), chunked by
paragraph; `search` ranks passages by shared analyzed terms like the real retriever, and
`padded_search` fills its k with everything, like a dense retriever.
"""
from __future__ import annotations

import hashlib

from rag.text.arabic import analyze
from rag.types import Chunk, Filters, Hit

ARTICLES = [
 ("a1","2015-06-10","صحيفة الشرق","سمير حداد","شبكات منظمة وراء تهريب الآثار",
  "كشفت تحقيقات أمنية أن شبكات منظمة تقف وراء تهريب الآثار من المواقع الأثرية في الشمال. وتضم هذه الشبكات وسطاء محليين وتجارا في الخارج يتقاسمون الأرباح. وقال ضابط في شرطة الآثار إن الشبكات تستغل ضعف الحراسة على المواقع النائية.\n\nوأوضح التقرير أن عمليات النهب تصاعدت عام 2014 بعد انسحاب الحراس من عدة مواقع. ويعمل الوسطاء على نقل القطع المسروقة إلى مخازن سرية قبل بيعها."),
 ("a2","2016-09-03","وكالة الأنباء","ليلى منصور","طرق تهريب الآثار عبر الموانئ والحدود",
  "يلجأ المهربون إلى إخفاء القطع الأثرية داخل شحنات تجارية عادية تمر عبر الموانئ. وتستخدم شهادات منشأ مزورة لتقديم القطع على أنها نسخ حديثة مقلدة. وضبطت الجمارك في 13 أكتوبر 2015 شحنة تضم تماثيل فخارية مهربة في ميناء بحري.\n\nكما تنقل القطع الصغيرة برا عبر المعابر الحدودية في سيارات خاصة. ويقول خبراء إن التهريب البري يصعب رصده لكثرة المسالك الجبلية."),
 ("a3","2018-02-20","صحيفة الشرق","سمير حداد","تهريب الآثار مصدر تمويل للجماعات المسلحة",
  "تحول تهريب الآثار إلى مصدر تمويل مهم للجماعات المسلحة في مناطق النزاع. وفرضت بعض الجماعات رسوما على الحفارين مقابل السماح لهم بالتنقيب غير المشروع. وقدر تقرير دولي صدر عام 2017 أن عائدات تجارة الآثار المنهوبة بلغت ملايين الدولارات.\n\nوتمر الأموال عبر وسطاء وصرافين قبل أن تصل إلى قادة الجماعات المسلحة. ويرى باحثون أن تجفيف هذا التمويل يتطلب مراقبة أسواق الفن في الخارج."),
 ("a4","2019-11-05","وكالة الأنباء","كريم عبد الله","بيع الآثار المهربة عبر الإنترنت",
  "انتقل جزء من تجارة الآثار المهربة إلى منصات البيع على الإنترنت ومجموعات التواصل الاجتماعي. ويعرض المهربون صور القطع الأثرية ثم يتفاوضون مع المشترين في رسائل خاصة. وأغلقت إحدى الشركات مئات المجموعات التي كانت تروج لبيع الآثار المنهوبة."),
 ("a5","2021-04-12","مجلة التراث","هدى سليمان","تشريعات جديدة واسترداد قطع أثرية مهربة",
  "أقر البرلمان قانونا يشدد العقوبات على تهريب الآثار ويرفع مدة السجن للمتاجرين بها. واستعادت وزارة الثقافة في آذار 2021 أكثر من مئتي قطعة أثرية مهربة من دول أوروبية. وتعاونت الشرطة الدولية مع السلطات المحلية في تتبع القطع المسروقة وإعادتها.\n\nودعا خبراء التراث إلى توثيق المجموعات المتحفية رقميا لتسهيل التعرف على القطع المهربة. ويؤكد مسؤولون أن التعاون الدولي هو السبيل الأنجع لمواجهة شبكات التهريب."),
 ("a6","2022-08-30","مجلة التراث","هدى سليمان","المتاحف الأجنبية تعيد آثارا منهوبة",
  "أعادت متاحف أجنبية عددا من الآثار المنهوبة بعد أن ثبت أنها خرجت بطرق غير مشروعة. وجاءت الإعادة بعد حملة قادها ناشطون وباحثون لتتبع مصادر القطع المعروضة. ويرى مراقبون أن ضغط الرأي العام دفع المتاحف إلى مراجعة مقتنياتها."),
 ("o1","2020-10-01","صحيفة الشرق","سمير حداد","موسم قطاف الزيتون",
  "بدأ المزارعون موسم قطاف الزيتون مع توقعات بإنتاج وفير هذا العام. وارتفعت أسعار زيت الزيتون في الأسواق المحلية بسبب زيادة الطلب على التصدير. ويشكو المزارعون من ارتفاع تكاليف اليد العاملة والنقل."),
 ("o2","2019-05-20","وكالة الأنباء","ليلى منصور","افتتاح ملعب جديد",
  "افتتحت البلدية ملعبا جديدا لكرة القدم في الحي الشرقي. ويتسع الملعب لخمسة آلاف متفرج ويضم مرافق حديثة للاعبين. ويأمل سكان الحي أن يستضيف الملعب مباريات الدوري المحلي."),
]
ON_TOPIC = {"a1", "a2", "a3", "a4", "a5", "a6"}
TOPIC = "تهريب الآثار"


def chunks_of(articles) -> list[Chunk]:
    """One chunk per paragraph of (doc, date, source, author, title, text) articles."""
    out = []
    for doc, date, source, author, title, text in articles:
        pos = 0
        for i, para in enumerate(text.split("\n\n")):
            start = text.index(para, pos)
            pos = start + len(para)
            cid = hashlib.sha1(f"{doc}{i}{para}".encode()).hexdigest()[:16]
            out.append(Chunk(cid, doc, para, i, start, pos, title=title, date=date, author=author,
                             source=source))
    return out


CHUNKS = chunks_of(ARTICLES)
TEXT = {doc: text for doc, *_, text in ARTICLES}


def search(query: str, filters: Filters, k: int) -> list[Hit]:
    return term_search(CHUNKS, query, filters, k)


def term_search(chunks, query: str, filters: Filters, k: int) -> list[Hit]:
    """Ranks passages by shared analyzed terms and honours the filters, like the real retriever."""
    q = set(analyze(query))
    hits = []
    for c in chunks:
        if (filters.since and c.date < filters.since) or (filters.until and c.date > filters.until):
            continue
        if filters.sources and c.source not in filters.sources:
            continue
        shared = len(q & set(analyze(f"{c.title} {c.text}")))
        if shared:
            hits.append(Hit(c, float(shared)))
    return sorted(hits, key=lambda h: (-h.score, h.chunk.id))[:k]


def all_sentences(b):
    """The summary's and the sections' sentences, in order."""
    return list(b.summary) + [s for sec in b.sections for s in sec.sentences]


def padded_search(query: str, filters: Filters, k: int) -> list[Hit]:
    """Like a dense retriever filling its k: every passage comes back, off-topic ones included,
    with e5-like cosines bunched together (related ones only a few points higher)."""
    q = set(analyze(query))
    hits = []
    for c in CHUNKS:
        shared = len(q & set(analyze(f"{c.title} {c.text}")))
        hits.append(Hit(c, float(shared) + 0.01, dense_score=0.84 + 0.01 * min(shared, 3)))
    return sorted(hits, key=lambda h: (-h.score, h.chunk.id))[:k]
