"""The import structure of app/ (issue 13): layer contracts, no cycles, import-free state data."""
from __future__ import annotations

import os
import sys

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def graph():
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    return grimp.build_graph("app", cache_dir=None)


def test_layer_contracts_hold(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code = lint_imports(config_filename=os.path.join(ROOT, ".importlinter"), no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Contracts: 3 kept, 0 broken." in out


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    adj = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(adj):
        if start in index:
            continue
        work = [(start, iter(adj[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(adj.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_no_import_cycles_in_app(graph):
    """Function-local imports count too: a cycle is a cycle wherever its import sits."""
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    class Fake:
        modules = {"a", "b", "c", "d"}
        edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

        def find_modules_directly_imported_by(self, m):
            return self.edges.get(m, set())

    assert _cycles(Fake()) == [["a", "b", "c"]]


def test_state_data_imports_nothing_of_the_app(graph):
    assert graph.find_modules_directly_imported_by("app.workflow.states") == set()
    assert graph.find_modules_directly_imported_by("app.workflow.registry") <= {"app.errors", "app.i18n",
                                                                          "app.workflow.states"}
    assert graph.find_modules_directly_imported_by("app.errors") == set()


def test_engine_audits_through_its_signal(app):
    """The engine announces transitions; the audit log (a service) records them."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import AuditLog, UnitCategory, UnitRole
    from app.services import qualification as q
    from tests.factories import make_certified, make_national_cert

    maker = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_national_cert("粤械注准20152660001", maker.unit.name, product_name="医用导管")
    record = q.add_certificates(maker, ["粤械注准20152660001"])[0]
    q.save_certificate(maker, record, "张三", "13800138000", "", ("scan.pdf", b"%PDF-1.4\n%%EOF\n"), submit=True)
    events = db.session.scalars(select(AuditLog.event).where(AuditLog.user_id == maker.id)).all()
    assert "wf_submit" in events


def test_no_import_cycles_in_the_benchmarks():
    """``benchmarks/run.py`` is the command line; the shared helpers live in ``benchmarks/common.py``."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    graph = grimp.build_graph("benchmarks", cache_dir=None)
    assert _cycles(graph) == []
    importers = {m for m in graph.modules if "benchmarks.run" in graph.find_modules_directly_imported_by(m)}
    assert importers <= {"benchmarks.__main__"}
