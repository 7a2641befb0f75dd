"""Property tests: generated valid TCKN, VKN and E.164 numbers are accepted,
and any single-digit change of a valid TCKN or VKN is rejected.

The Python reference implementations (tests/rows.py) are written from the
published algorithms, independently of the SQL functions they check.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import rows

PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


digits = st.text(alphabet="0123456789", min_size=8, max_size=8)
valid_tckns = st.builds(lambda first, rest: rows.tckn(first + rest),
                        st.sampled_from("123456789"), digits)
valid_vkns = st.builds(rows.vkn, st.text(alphabet="0123456789", min_size=9,
                                                     max_size=9))
e164_phones = st.from_regex(r"\A\+[1-9][0-9]{6,14}\Z")


def single_digit_changes(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid number with exactly one digit replaced by a different digit."""
    def change(number: str, position: int, shift: int) -> str:
        new = (int(number[position]) + shift) % 10
        return number[:position] + str(new) + number[position + 1:]

    return valid.flatmap(lambda n: st.builds(
        change, st.just(n), st.integers(0, len(n) - 1), st.integers(1, 9)))


def test_reference_implementations_agree_with_published_examples():
    # python-stdnum documents these as valid (stdnum.tr.tckimlik, stdnum.tr.vkn).
    assert rows.tckn(rows.VALID_TCKN[:9]) == rows.VALID_TCKN
    assert rows.vkn(rows.VALID_VKN[:9]) == rows.VALID_VKN


@PROPERTY
@given(tckn=valid_tckns)
def test_valid_tckn_is_accepted(db, tckn):
    assert db.execute("SELECT is_valid_tckn(%s)", (tckn,)).fetchone()[0] is True
    rows.user(db, tax_no=tckn)


@PROPERTY
@given(vkn=valid_vkns)
def test_valid_vkn_is_accepted(db, vkn):
    assert db.execute("SELECT is_valid_vkn(%s)", (vkn,)).fetchone()[0] is True
    rows.user(db, tax_no=vkn)


@PROPERTY
@given(tckn=single_digit_changes(valid_tckns))
def test_any_single_digit_change_of_a_tckn_is_rejected(db, tckn):
    assert db.execute("SELECT is_valid_tckn(%s)", (tckn,)).fetchone()[0] is False
    with rows.violates("ck_users_tax_no_checksum"):
        rows.user(db, tax_no=tckn)


@PROPERTY
@given(vkn=single_digit_changes(valid_vkns))
def test_any_single_digit_change_of_a_vkn_is_rejected(db, vkn):
    assert db.execute("SELECT is_valid_vkn(%s)", (vkn,)).fetchone()[0] is False
    with rows.violates("ck_users_tax_no_checksum"):
        rows.user(db, tax_no=vkn)


@PROPERTY
@given(phone=e164_phones)
def test_valid_e164_phone_is_accepted(db, phone):
    db.execute("DELETE FROM users WHERE phone = %s", (phone,))
    rows.user(db, phone=phone)


@PROPERTY
@given(phone=st.from_regex(r"\A\+?[0-9 ()-]{0,18}\Z").filter(
    lambda p: not (p.startswith("+") and p[1:].isdigit() and p[1] != "0"
                   and 7 <= len(p) - 1 <= 15)))
def test_anything_else_is_rejected_as_phone(db, phone):
    with rows.violates("ck_users_phone_e164"):
        rows.user(db, phone=phone)


@pytest.mark.parametrize("tckn", ["10000000146", "17291716060"])
def test_tckn_check_digits_of_known_numbers(db, tckn):
    assert db.execute("SELECT is_valid_tckn(%s)", (tckn,)).fetchone()[0] is True
