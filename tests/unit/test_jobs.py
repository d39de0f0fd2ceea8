"""The shared job queue (app/jobs.py): the same job row whatever runs it, failures said, dead jobs seen."""
from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from sqlalchemy import select

from app import jobs
from app.extensions import db
from app.models import DictionaryEntry
from app.models.job import BackgroundJob
from app.services.errors import DomainError

REDIS_TEST_URL = "redis://127.0.0.1:6379/4"


# -- job functions (module level: found by dotted path) ------------------------------------
def count_to(n: int, label: str = "x") -> dict:
    for i in range(1, n + 1):
        jobs.progress(i, n, f"{label}{i}")
    return {"counted": n, "job": jobs.current_job_id()}


def write_then_refuse(name: str) -> None:
    db.session.add(DictionaryEntry(category="unit", name=name, sort_order=1, active=True))
    db.session.flush()
    raise DomainError("文件有误，已拒绝")


def write_then_crash(name: str) -> None:
    db.session.add(DictionaryEntry(category="unit", name=name, sort_order=1, active=True))
    db.session.flush()
    raise RuntimeError("boom")


def write_entry(name: str) -> str:
    db.session.add(DictionaryEntry(category="unit", name=name, sort_order=1, active=True))
    return name


def beat_seen(seconds: float) -> bool:
    """A job that only waits: did its heartbeat reach the database while it ran?"""
    import time as _time

    row = db.session.get(BackgroundJob, jobs.current_job_id())
    started = row.heartbeat_at
    _time.sleep(seconds)
    with db.engine.connect() as conn:
        beat = conn.execute(select(BackgroundJob.heartbeat_at).where(BackgroundJob.id == row.id)).scalar_one()
    jobs.progress(1, 1, "waited")
    return beat > started


def _entry_exists(name: str) -> bool:
    db.session.rollback()
    return db.session.scalar(select(DictionaryEntry).where(DictionaryEntry.name == name)) is not None


def _wait(job_id: str, seconds: float = 15.0) -> jobs.JobInfo:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        info = jobs.status(job_id)
        if info.finished:
            return info
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {jobs.status(job_id)}")


# -- sync (the test default) -------------------------------------------------------------------
def test_sync_job_runs_at_once_and_keeps_result_and_progress():
    job_id = jobs.enqueue(count_to, 3, label="n", job_title="数数", job_user="admin")
    info = jobs.status(job_id)
    assert info.status == "done" and info.status_label == "已完成"
    assert info.result == {"counted": 3, "job": job_id}
    assert (info.done, info.total, info.note) == (3, 3, "n3")
    assert info.title == "数数" and info.username == "admin"
    assert info.name == "tests.unit.test_jobs:count_to"
    assert jobs.recent(count_to)[0].id == job_id


def test_job_commits_its_own_work():
    jobs.enqueue(write_entry, "件件")
    assert _entry_exists("件件")


def test_refused_job_rolls_back_and_says_why():
    job_id = jobs.enqueue(write_then_refuse, "半截")
    info = jobs.status(job_id)
    assert info.status == "failed" and info.error == "文件有误，已拒绝"
    assert not _entry_exists("半截")


def test_crashed_job_rolls_back_with_a_generic_message():
    job_id = jobs.enqueue(write_then_crash, "崩溃")
    info = jobs.status(job_id)
    assert info.status == "failed" and info.error == jobs.MSG_FAILED
    assert not _entry_exists("崩溃")


def test_a_running_job_writes_its_heartbeat(app, monkeypatch):
    """Without heartbeats a long job on another host would be declared dead after JOB_STALE_SECONDS."""
    monkeypatch.setitem(app.config, "JOB_BEAT_SECONDS", 0.05)
    job_id = jobs.enqueue(beat_seen, 0.6)
    assert jobs.status(job_id).result is True


def test_progress_outside_a_job_is_harmless():
    jobs.progress(5, 10, "nothing")  # no job: nothing to report, nothing raised
    assert jobs.current_job_id() is None


def test_lambda_is_refused():
    with pytest.raises(ValueError):
        jobs.enqueue(lambda: None)


# -- in-process thread (development) ---------------------------------------------------------------
def test_thread_job_runs_in_background(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_QUEUE", "thread")
    job_id = jobs.enqueue(count_to, 50)
    info = _wait(job_id)
    assert info.status == "done" and info.result["counted"] == 50 and info.done == 50


def test_running_job_without_heartbeat_is_marked_interrupted(app, monkeypatch):
    """A web process that died mid-job: no heartbeat for JOB_STALE_SECONDS → 失败, said so."""
    monkeypatch.setitem(app.config, "JOB_QUEUE", "thread")
    old = dt.datetime.utcnow() - dt.timedelta(hours=1)
    db.session.add(BackgroundJob(id="dead1", name="x:y", status="running", done=10, created_at=old,
                                 started_at=old, heartbeat_at=old))
    db.session.add(BackgroundJob(id="alive1", name="x:y", status="running", done=10, created_at=old,
                                 started_at=old, heartbeat_at=dt.datetime.utcnow()))
    db.session.commit()
    dead = jobs.status("dead1")
    assert dead.status == "failed" and dead.error == jobs.MSG_INTERRUPTED
    assert jobs.status("alive1").status == "running"
    assert jobs.status("nope") is None


# -- RQ on Redis ---------------------------------------------------------------------------------
@pytest.fixture
def rq_app(app, monkeypatch):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_TEST_URL).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    queue_name = f"national-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "JOB_QUEUE", "")
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_TEST_URL)
    monkeypatch.setitem(app.config, "JOB_QUEUE_NAME", queue_name)
    yield app
    queue = jobs.rq_queue(app)
    queue.delete(delete_jobs=True)


def test_rq_is_chosen_when_redis_is_configured(rq_app):
    assert jobs.backend() == "rq"


def test_rq_job_waits_for_a_worker_then_runs(rq_app):
    from rq import SimpleWorker

    job_id = jobs.enqueue(count_to, 4)
    assert jobs.status(job_id).status == "queued"  # nothing runs until a worker takes it
    queue = jobs.rq_queue()
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    info = _wait(job_id)
    assert info.status == "done" and info.result["counted"] == 4


def test_rq_job_lost_by_redis_is_marked_interrupted(rq_app):
    job_id = jobs.enqueue(count_to, 1)
    jobs.rq_queue().connection.delete(f"rq:job:{job_id}")  # the worker died and its job expired
    info = jobs.status(job_id)
    assert info.status == "failed" and info.error == jobs.MSG_INTERRUPTED


def test_redis_down_refuses_the_job_and_says_so(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_QUEUE", "rq")
    monkeypatch.setitem(app.config, "JOB_REDIS_URL", "redis://127.0.0.1:1/0")
    with pytest.raises(jobs.JobQueueUnavailable):
        jobs.enqueue(count_to, 1)
    row = db.session.scalars(select(BackgroundJob)).one()
    assert row.status == "failed" and row.error == jobs.MSG_NO_QUEUE
