"""Messages people read go through the catalog (issue 13): no unmarked Chinese text is passed to a
flash or a domain error, and views flash only through ``app.i18n.notify`` (which translates)."""
from __future__ import annotations

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
#: calls whose first argument is a message a person reads
MESSAGE_CALLS = {"flash", "notify", "DomainError", "ValidationFailed", "WorkflowError", "ImportRefused"}
#: the markers the extraction (``make translations-update``) knows
MARKERS = {"N_", "Msg", "_", "_l", "lazy_gettext", "gettext"}


def _name(func) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _has_cjk(node) -> bool:
    return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and CJK.search(n.value)
               for n in ast.walk(node))


def unmarked(node) -> bool:
    """Whether a message argument carries Chinese text the catalog cannot know."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(CJK.search(node.value))
    if isinstance(node, ast.Call) and _name(node.func) in MARKERS:
        return False
    if isinstance(node, ast.IfExp):
        return unmarked(node.body) or unmarked(node.orelse)
    if isinstance(node, ast.Dict):
        return any(unmarked(v) for v in node.values)
    if isinstance(node, (ast.JoinedStr, ast.BinOp, ast.Call)):  # f"…", "…" + x, "…".format(), "；".join(…)
        return _has_cjk(node)
    return False


def findings(source: str, path: str) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name == "flash" and not path.endswith("app/i18n.py"):
            out.append(f"{path}:{node.lineno}: flash() outside notify()")
        if name in MESSAGE_CALLS and node.args and unmarked(node.args[0]):
            out.append(f"{path}:{node.lineno}: unmarked Chinese text in {name}()")
    return out


def test_no_unmarked_chinese_message_in_the_app():
    problems = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        problems += findings(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert problems == []


def test_the_check_finds_what_it_must():
    src = '''
flash("保存成功")
notify(f"已删除{n}条")
raise DomainError("、".join(bad) + " 已过期")
raise ValidationFailed({"name": f"名称{x}已存在"})
raise WorkflowError(N_("不能提交") if a else "不能撤回")
notify(N_("保存成功"))
raise DomainError(Msg("%(n)s条", n=1))
raise ValidationFailed({"name": N_("请填写名称")})
notify(exc.message)
'''
    found = findings(src, "app/views/example.py")
    assert [f.split(":")[1] for f in found] == ["2", "2", "3", "4", "5", "6"]


# -- messages built before the call: field-error dicts, reason lists, returned texts ---------------
#: where a Chinese f-string is data, not a message of the UI (kept in the language it was written in)
DATA_MODULES = {
    # a rejected row's reason is identical on the Python and the SQL (COPY) path, which builds it in SQL;
    # it is stored in the import log as the release's data
    "app/services/national_import/checks.py",
    "app/services/national_import/loader.py",
    "app/services/national_import/results.py",  # the summary line stored in the import log
    "app/security/roles.py",  # FAB role names (identifiers)
    "app/services/expiry.py",  # SMS texts (the SMS goes out in Chinese)
    "app/services/operators.py",  # SMS texts
    "app/services/password_reset.py",  # SMS texts
    "app/services/attachments.py",  # the change record's diff keys, stored
}
#: calls and keywords whose argument is data: audit lines, SMS, log lines, file names, job titles
DATA_CALLS = {"record", "send", "debug", "info", "warning", "error", "exception", "echo", "secho"}
DATA_KEYWORDS = {"detail", "download_name", "job_title"}
#: names that collect messages for a person: ``errors["x"] = …``, ``problems.append(…)``
MESSAGE_HOLDERS = {"errors", "field_errors", "problems", "invalid", "expired", "reasons"}


def built_findings(source: str, path: str) -> list[str]:
    """Chinese f-strings outside data, and unmarked Chinese text put into a message holder."""
    if any(path.startswith(m) for m in DATA_MODULES):
        return []
    tree = ast.parse(source)
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            data_args = node.args if _name(node.func) in DATA_CALLS else []
            data_args += [k.value for k in node.keywords if k.arg in DATA_KEYWORDS]
            for arg in data_args:
                allowed |= {id(n) for n in ast.walk(arg)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and id(node) not in allowed and _has_cjk(node):
            out.append(f"{path}:{node.lineno}: Chinese f-string (use Msg)")
        value = None
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Subscript) and _name(t.value) in MESSAGE_HOLDERS for t in node.targets):
            value = node.value
        elif isinstance(node, ast.Call) and _name(node.func) == "append" and node.args and \
                isinstance(node.func, ast.Attribute) and _name(node.func.value) in MESSAGE_HOLDERS:
            value = node.args[0]
        if value is not None and isinstance(value, ast.Constant) and unmarked(value):
            out.append(f"{path}:{node.lineno}: unmarked Chinese text in a message holder")
    return out


def test_no_chinese_message_built_unmarked():
    problems = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        problems += built_findings(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert problems == []


def test_the_built_check_finds_what_it_must():
    src = '''
errors["code"] = f"编码{code}不属于本单位"
errors["mid"] = "须同时填写"
problems.append(f"{no}已过期")
return None, f"{label}必填"
errors["code"] = Msg("编码%(code)s不属于本单位", code=code)
errors["mid"] = N_("须同时填写")
audit.record("x", detail=f"{name}: 导入成功{n}条")
sms.send(phone, f"验证码{code}")
send_file(data, download_name=f"导入错误报告-{day}.xlsx")
log.info(f"导入{n}条")
'''
    found = built_findings(src, "app/services/example.py")
    assert sorted(int(f.split(":")[1]) for f in found) == [2, 3, 4, 5]
    assert built_findings(src, "app/services/national_import/checks.py") == []
    assert built_findings(src, "app/services/national_import/files.py") != []
