"""Field rules of unit registration and operators (SPEC §1.1, §7).

Each function returns ``None`` when the value is valid, else the Chinese
message to show next to the field.
"""
from __future__ import annotations

import re

from stdnum.cn import ric, uscc

from app.i18n import N_
from app.models.unit import UnitCategory

ACCOUNT_RE = re.compile(r"^[A-Za-z0-9]{6,20}$")
PHONE_RE = re.compile(r"^1\d{10}$")
USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
# H (medical institution) or P (pharmacy) + 6-digit region + 5-digit serial, then 000000.
INSTITUTION_CODE_RE = re.compile(r"^[HP]\d{11}000000$")


def account_error(value: str) -> str | None:
    value = value or ""
    if not value:
        return N_("请输入账号")
    if not re.fullmatch(r"[A-Za-z0-9]*", value):
        return N_("账号只能由字母和数字组成，不能包含特殊符号")
    if not (6 <= len(value) <= 20):
        return N_("账号长度为6-20位")
    if value.isdigit() or value.isalpha():
        return N_("账号必须为字母加数字的组合")
    return None


def password_error(value: str) -> str | None:
    value = value or ""
    if len(value) < 8:
        return N_("密码至少8位，且须同时包含字母和数字")
    if not re.search(r"[A-Za-z]", value) or not re.search(r"\d", value):
        return N_("密码须同时包含字母和数字")
    return None


def confirm_error(password: str, confirm: str) -> str | None:
    return None if password == confirm else "两次输入的密码不一致"


def uscc_check_character(code17: str) -> str:
    """GB 32100-2015 check character (python-stdnum's calculation)."""
    return uscc.calc_check_digit(code17)


def uscc_error(value: str) -> str | None:
    """USCC rules without stdnum's 'first 8 are digits' restriction (SPEC §7)."""
    value = (value or "").strip().upper()
    if len(value) != 18:
        return N_("统一社会信用代码应为18位")
    if not USCC_RE.match(value):
        return N_("统一社会信用代码含有无效字符")
    if uscc_check_character(value[:17]) != value[17]:
        return N_("统一社会信用代码校验位错误，请核对")
    return None


def institution_code_error(value: str) -> str | None:
    value = (value or "").strip().upper()
    if not value:
        return N_("请输入信用代码")
    if value[0] not in "HP":
        return N_("非定点机构信用代码应以H码（或药店P码）开头，例：H44010300099000000")
    if len(value) != 18:
        return N_("非定点机构信用代码应为18位：H码（12位）+000000，例：H44010300099000000")
    if not INSTITUTION_CODE_RE.match(value):
        return N_("非定点机构信用代码格式错误：H码（H+11位数字）+000000，例：H44010300099000000")
    return None


def credit_code_error(category: str, value: str) -> str | None:
    if category == UnitCategory.NON_DESIGNATED.value:
        return institution_code_error(value)
    if not (value or "").strip():
        return N_("请输入统一社会信用代码")
    return uscc_error(value)


def normalize_credit_code(value: str) -> str:
    return (value or "").strip().upper()


def id_number_error(value: str) -> str | None:
    value = (value or "").strip().upper()
    if not value:
        return N_("请输入身份证号码")
    if not ric.is_valid(value):
        return N_("身份证号码无效，请核对")
    return None


def phone_error(value: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return N_("请输入手机号码")
    if not PHONE_RE.match(value):
        return N_("手机号码应为以1开头的11位数字")
    return None
