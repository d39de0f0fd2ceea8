"""Field rules of SPEC §1.1 and §7."""
import pytest
from stdnum.cn import uscc

from app.services import validators as v


@pytest.mark.parametrize("value,fragment", [
    ("abc_123", "特殊符号"), ("abc 1234", "特殊符号"), ("测试abc123", "特殊符号"),
    ("12345678", "字母加数字"), ("abcdefgh", "字母加数字"),
    ("ab12", "6-20"), ("a1" * 11, "6-20"), ("", "请输入账号"),
])
def test_bad_accounts_are_refused_with_reason(value, fragment):
    assert fragment in v.account_error(value)


@pytest.mark.parametrize("value", ["abc123", "Unit2024", "a1" * 10])
def test_good_accounts_pass(value):
    assert v.account_error(value) is None


@pytest.mark.parametrize("value", ["Ab1", "abcdefgh", "12345678", ""])
def test_weak_passwords_are_refused(value):
    assert v.password_error(value)


def test_password_with_letters_and_digits_passes():
    assert v.password_error("abcd1234") is None
    assert v.confirm_error("abcd1234", "abcd1235") == "两次输入的密码不一致"


def test_uscc_check_character_is_enforced():
    good = "91110000600037341L"
    assert v.uscc_error(good) is None
    bad = good[:17] + ("M" if good[17] != "M" else "N")
    assert "校验位" in v.uscc_error(bad)


def test_uscc_with_letter_authority_is_accepted_unlike_stdnum():
    """SPEC §7: stdnum rejects A/N/Y authority characters; we use only its check character."""
    body = "N2440300MA5FABCDE"
    code = body + uscc.calc_check_digit(body)
    assert not uscc.is_valid(code)
    assert v.uscc_error(code) is None


@pytest.mark.parametrize("value,fragment", [
    ("9111000060003734", "18位"), ("91110000600037341I", "无效字符"),
])
def test_uscc_shape(value, fragment):
    assert fragment in v.uscc_error(value)


def test_h_code_rules():
    assert v.institution_code_error("H44010300099000000") is None
    assert v.institution_code_error("P44010300099000000") is None  # pharmacy P code
    assert "H码" in v.institution_code_error("X44010300099000000")
    assert "18位" in v.institution_code_error("H4401030009900000")  # 11+6 digits short
    assert "格式" in v.institution_code_error("H44010300099000001")  # suffix must be 000000
    assert "格式" in v.institution_code_error("H4401030009A000000")


def test_credit_code_rule_depends_on_category():
    assert v.credit_code_error("non_designated", "H44010300099000000") is None
    assert v.credit_code_error("designated", "H44010300099000000")  # not a USCC
    assert v.credit_code_error("enterprise", "91110000600037341L") is None


def test_id_number_and_phone():
    assert v.id_number_error("11010519491231002X") is None
    assert v.id_number_error("110105194912310021") == "身份证号码无效，请核对"
    assert v.phone_error("13800138000") is None
    for bad in ("23800138000", "1380013800", "138001380001", "1380013800a"):
        assert v.phone_error(bad) == "手机号码应为以1开头的11位数字"
