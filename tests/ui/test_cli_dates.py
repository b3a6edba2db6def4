"""The CLI's date filters: a value that is not a date stops with the flag named (fast tier)."""
from __future__ import annotations

import pytest

from ui.cli import main


@pytest.mark.parametrize("argv", [["ask", "ماذا قال التقرير؟", "--since", "أمس"],
                                  ["search", "التقرير", "--until", "2018-13"],
                                  ["brief", "التمويل", "--since", "الشهر الماضي"]])
def test_a_date_that_is_not_one_is_an_error_naming_the_flag_and_the_form(argv, tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    flag = argv[2]
    assert f"{flag} " in err and "is not a date" in err and "2018-07-01" in err
    assert "Traceback" not in err
