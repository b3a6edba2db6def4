"""Short answers have the asked type: a "when" question leads with a date, never a count."""
from rag.answering.shortanswer import lead_answer

SHIELD = ("أطلقت وزارة الشباب في مارس 2016 برنامجًا وطنيًّا باسم «درع الشبكة»، يهدف إلى تدريب 5000 معلم "
          "ومرشد طلابي على اكتشاف علامات الاستقطاب الرقمي المبكرة.")


def test_a_when_question_leads_with_the_date_not_a_nearby_count():
    assert lead_answer("متى أطلق برنامج درع الشبكة؟", SHIELD) == "مارس 2016"
    assert lead_answer("متى بدأ تدريب المعلمين؟", "بدأ تدريب 5000 معلم.") == ""  # no date: no lead
    assert lead_answer("كم معلما يدرب برنامج درع الشبكة؟", SHIELD).startswith("5000")


def test_historical_years_still_lead():
    assert lead_answer("متى توفي الشاعر؟", "الشاعر (1165 - 1227) كتب كثيرا.") == "1227"
    assert lead_answer("متى بدأت الحرب؟", "بدأت الحرب في 1914 وشارك فيها 5000 جندي.") == "1914"


def test_a_number_of_years_is_a_duration_not_a_date():
    empire = "حكمت السلالة لما يقرب من 600 سنة، وبالتحديد من 27 يوليو 1299م حتى 29 أكتوبر 1923م."
    assert lead_answer("متى تأسست السلالة؟", empire).startswith("27 يوليو 1299")
    assert lead_answer("متى انتهى الحصار؟", "انتهى الحصار بعد 300 يوم من القتال.") == ""  # no date: no lead
    assert lead_answer("متى بني المسجد؟", "بني المسجد عام 1200 واستمر بناؤه 40 عاما.") == "عام 1200"
    assert lead_answer("كم سنة حكمت السلالة؟", empire).startswith("600")  # as a count it still leads
