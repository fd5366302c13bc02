"""The bad-input table's cases of the commands of `FILES["train"]` (tests/bad_inputs.py: the
table, the prepared inputs and what every case expects)."""

import pytest
from bad_inputs import CASES, COMMANDS, FILES, cases, check_case


@pytest.mark.parametrize("case", cases(*FILES["train"]))
def test_bad_input_fails_in_one_line_and_changes_nothing(case, bad_inputs_prepared, tmp_path, capfd):
    check_case(case, bad_inputs_prepared, tmp_path, capfd)


def test_the_table():
    """At least 60 cases, each id once, every command covered, every case run by one file."""
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)
    assert {case.command for case in CASES} == set(COMMANDS)
    run = [c for group in FILES.values() for c in group]
    assert sorted(run) == sorted(COMMANDS), "a command's cases are run by no test_bad_inputs_*.py, or by two"
