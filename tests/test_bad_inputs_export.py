"""The bad-input table's cases of the commands of `FILES["export"]` (tests/bad_inputs.py: the
table, the prepared inputs and what every case expects)."""

import pytest
from bad_inputs import FILES, cases, check_case


@pytest.mark.parametrize("case", cases(*FILES["export"]))
def test_bad_input_fails_in_one_line_and_changes_nothing(case, bad_inputs_prepared, tmp_path, capfd):
    check_case(case, bad_inputs_prepared, tmp_path, capfd)
