"""The package's warnings read as one "warning: ..." line wherever Python shows them (notebook
cells included); other libraries' warnings keep Python's format."""

from __future__ import annotations

import subprocess
import sys


def test_package_warnings_are_one_line_and_others_unchanged():
    code = ("import warnings, dialogsum_peft\n"
            "from dialogsum_peft.input_report import InputLossWarning\n"
            "warnings.warn('2 of 5 dialogues are cut\\n  at 512', InputLossWarning)\n"
            "warnings.warn('odd', UserWarning)\n")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stderr.splitlines()
    assert err[0] == "warning: 2 of 5 dialogues are cut at 512"
    assert err[1].endswith(": UserWarning: odd")  # Python's own "file:line: Category: message"
