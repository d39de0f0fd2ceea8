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
