"""Background jobs: ``enqueue(func, *args)`` and ``status(job_id)``.

One small module every feature shares (national imports, SMS sending …).
Where a job runs is configuration (``JOB_QUEUE``):

``rq``
    RQ on Redis (``JOB_REDIS_URL``, else ``REDIS_URL``); workers run
    ``flask jobs worker``.  The default whenever one of those URLs is set.
``thread``
    A daemon thread in the web process: the development default, so
    ``make run`` needs nothing but Python.
``sync``
    At once, in the caller (the test default).

Whatever runs it, a job is a row of ``background_job`` (``app.models.job``):
its state (排队中 → 进行中 → 已完成 / 失败), progress, result and error are
visible to every app server.  The function runs in a fresh application
context with its own session; it must be a module-level function (found by
dotted path) taking JSON/pickle-able arguments, may call :func:`progress`, and
returns a JSON-serialisable result.  An exception marks the job 失败 with the
reason (a :class:`~app.services.errors.DomainError`'s message as is, anything
else as a generic message, logged).

A job whose worker dies (killed, timed out, machine lost) cannot record its own
failure: :func:`status` notices — RQ reports the job failed or lost, or no
heartbeat came for ``JOB_STALE_SECONDS`` — and marks it 失败 (作业意外中断).  A
job that writes in one transaction therefore leaves nothing half-done: the
database rolls back what the dead process had not committed.

Call :func:`enqueue` after committing your own transaction: the job row is
written on a separate connection, and a worker may start before your commit.
"""
from __future__ import annotations

import atexit
import datetime as dt
import importlib
import json
import logging
import os
import threading
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable

from flask import current_app, has_app_context
from sqlalchemy import update

from app.models.job import (JOB_DONE, JOB_FAILED, JOB_QUEUED, JOB_RUNNING, JOB_STATUS_LABELS,
                            BackgroundJob)
from app.models.mixins import utcnow
from app.i18n import N_
from app.errors import DomainError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 6 * 3600  # a full national release on a slow server
DEFAULT_STALE_SECONDS = 300
DEFAULT_BEAT_SECONDS = 2.0
QUEUE_NAME = "default"

MSG_INTERRUPTED = N_("作业意外中断（工作进程已退出或超时），未完成的数据已全部回滚，请重新提交")
MSG_FAILED = N_("作业执行出错，未完成的数据已全部回滚，请联系管理员查看日志")
MSG_NO_QUEUE = N_("任务队列不可用，作业未能提交，请稍后重试")

_current_job: ContextVar[str | None] = ContextVar("current_job", default=None)
# Live progress of the jobs this process runs: job id -> [done, total, note, dirty]
_live: dict[str, list] = {}
_live_lock = threading.Lock()
_IMPORT_PID = os.getpid()  # an RQ work horse is forked after the worker imported this module
_threads: set[threading.Thread] = set()  # jobs running as threads of this process
EXIT_WAIT_SECONDS = 30


# -- configuration ----------------------------------------------------------------
def backend(app=None) -> str:
    config = (app or current_app).config
    chosen = (config.get("JOB_QUEUE") or "").lower()
    if chosen in ("rq", "thread", "sync"):
        return chosen
    return "rq" if redis_url(app) else "thread"


def redis_url(app=None) -> str | None:
    config = (app or current_app).config
    return config.get("JOB_REDIS_URL") or config.get("REDIS_URL") or None


def rq_queue(app=None):
    from redis import Redis
    from rq import Queue

    app = app or current_app
    return Queue(app.config.get("JOB_QUEUE_NAME") or QUEUE_NAME, connection=Redis.from_url(redis_url(app)))


def dotted(func: Callable) -> str:
    path = f"{func.__module__}:{func.__qualname__}"
    if "<" in path:
        raise ValueError(f"background jobs need a module-level function, not {path}")
    return path


def _resolve(path: str) -> Callable:
    module, _, name = path.partition(":")
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


# -- public API -------------------------------------------------------------------
@dataclass
class JobInfo:
    id: str
    name: str
    title: str | None
    username: str | None
    status: str
    done: int
    total: int | None
    note: str | None
    result: Any
    error: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @property
    def status_label(self) -> str:
        return JOB_STATUS_LABELS.get(self.status, self.status)

    @property
    def finished(self) -> bool:
        return self.status in (JOB_DONE, JOB_FAILED)

    @property
    def elapsed(self) -> float:
        if not self.started_at:
            return 0.0
        return max(((self.finished_at or utcnow()) - self.started_at).total_seconds(), 0.0)

    @property
    def rate(self) -> float | None:
        """Units of work per second so far."""
        return self.done / self.elapsed if self.done and self.elapsed > 0 else None

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(int(self.done * 100 / self.total), 100)

    @property
    def eta_seconds(self) -> float | None:
        if self.finished or not self.total or not self.rate:
            return None
        return max(self.total - self.done, 0) / self.rate


def enqueue(func: Callable, *args, job_title: str | None = None, job_user: str | None = None,
            job_timeout: int | None = None, **kwargs) -> str:
    """Queue ``func(*args, **kwargs)`` and return the job id (see the module docstring)."""
    from app.extensions import db

    app = current_app._get_current_object()
    job_id = uuid.uuid4().hex
    name = dotted(func)
    with db.engine.begin() as conn:
        conn.execute(BackgroundJob.__table__.insert().values(
            id=job_id, name=name[:100], title=(job_title or None) and job_title[:255], username=job_user,
            status=JOB_QUEUED, done=0, created_at=utcnow()))
    how = backend(app)
    if how == "rq":
        try:
            rq_queue(app).enqueue(WORKER_ENTRY, job_id, name, list(args), kwargs, job_id=job_id,
                                  job_timeout=job_timeout or app.config.get("JOB_TIMEOUT", DEFAULT_TIMEOUT),
                                  description=(job_title or name)[:200], result_ttl=86400, failure_ttl=7 * 86400)
        except Exception as exc:  # Redis down: say so on the job instead of leaving it queued forever
            log.exception("could not enqueue job %s", job_id)
            _finish(job_id, JOB_FAILED, error=MSG_NO_QUEUE)
            raise JobQueueUnavailable(MSG_NO_QUEUE) from exc
    elif how == "thread":
        thread = threading.Thread(target=_run_in_app, args=(app, job_id, name, list(args), kwargs),
                                  name=f"job-{job_id[:8]}", daemon=True)
        with _live_lock:
            _threads.add(thread)
        thread.start()
    else:
        _run_in_app(app, job_id, name, list(args), kwargs)
    return job_id


class JobQueueUnavailable(DomainError):
    """Redis could not take the job; the job row says 失败."""


def progress(done: int, total: int | None = None, note: str | None = None) -> None:
    """Report progress of the current job (cheap: kept in memory, written every few seconds).

    Outside a job it does nothing, so services can report unconditionally.
    """
    job_id = _current_job.get()
    if job_id is None:
        return
    with _live_lock:
        entry = _live.get(job_id)
        if entry is not None:
            entry[0] = done
            if total is not None:
                entry[1] = total
            if note is not None:
                entry[2] = note[:255]
            entry[3] = True


def current_job_id() -> str | None:
    return _current_job.get()


def status(job_id: str) -> JobInfo | None:
    """The job as every app server sees it, with a dead job recognised and marked 失败."""
    from app.extensions import db

    job = db.session.get(BackgroundJob, job_id) if job_id else None
    if job is None:
        return None
    db.session.refresh(job)
    if job.status in (JOB_QUEUED, JOB_RUNNING) and _is_dead(job):
        _finish(job.id, JOB_FAILED, error=MSG_INTERRUPTED)
        db.session.refresh(job)
    info = JobInfo(job.id, job.name, job.title, job.username, job.status, job.done, job.total, job.note,
                   json.loads(job.result) if job.result else None, job.error, job.created_at, job.started_at,
                   job.finished_at)
    with _live_lock:
        live = _live.get(job_id)
        if live is not None and not info.finished:
            info.done, info.total, info.note = live[0], live[1] if live[1] is not None else info.total, live[2]
    return info


def recent(name: Callable | str | None = None, limit: int = 20) -> list[BackgroundJob]:
    from sqlalchemy import select

    from app.extensions import db

    query = select(BackgroundJob).order_by(BackgroundJob.created_at.desc()).limit(limit)
    if name is not None:
        query = query.where(BackgroundJob.name == (name if isinstance(name, str) else dotted(name)))
    return list(db.session.scalars(query))


# -- running ----------------------------------------------------------------------
def _is_dead(job: BackgroundJob) -> bool:
    stale = current_app.config.get("JOB_STALE_SECONDS", DEFAULT_STALE_SECONDS)
    if job.status == JOB_RUNNING:
        with _live_lock:
            if job.id in _live:
                return False  # running in this very process
        beat = job.heartbeat_at or job.started_at
        if beat is None or (utcnow() - beat).total_seconds() > stale:
            return True
    if backend() == "rq":
        try:
            from rq.exceptions import NoSuchJobError
            from rq.job import Job

            try:
                rq_job = Job.fetch(job.id, connection=rq_queue().connection)
            except NoSuchJobError:
                return True
            return rq_job.get_status(refresh=True) in ("failed", "stopped", "canceled")
        except Exception:  # Redis unreachable: no verdict
            log.warning("could not ask RQ about job %s", job.id, exc_info=True)
            return False
    if job.status == JOB_QUEUED and backend() != "rq":
        # in-process jobs start at once; one queued this long belonged to a process that is gone
        return (utcnow() - job.created_at).total_seconds() > stale
    return False


def _finish(job_id: str, state: str, *, result: Any = None, error: str | None = None) -> None:
    from app.extensions import db

    values: dict[str, Any] = {"status": state, "finished_at": utcnow(), "heartbeat_at": utcnow()}
    if result is not None:
        values["result"] = json.dumps(result, ensure_ascii=False, default=str)
    if error is not None:
        values["error"] = error
    with _live_lock:
        live = _live.get(job_id)
        if live is not None:
            values["done"] = live[0]
            if live[1] is not None:
                values["total"] = live[1]
            if live[2] is not None:
                values["note"] = live[2]
    table = BackgroundJob.__table__
    with db.engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == job_id, table.c.status.in_((JOB_QUEUED, JOB_RUNNING)))
                     .values(**values))


def _beat(app, job_id: str, stop: threading.Event, interval: float) -> None:
    """Write heartbeat and progress every few seconds on a connection of its own."""
    with app.app_context():  # the engine belongs to the app
        _beat_loop(job_id, stop, interval)


def _beat_loop(job_id: str, stop: threading.Event, interval: float) -> None:
    from app.extensions import db

    table = BackgroundJob.__table__
    while not stop.wait(interval):
        with _live_lock:
            live = list(_live.get(job_id) or (0, None, None, False))
            if job_id in _live:
                _live[job_id][3] = False
        values: dict[str, Any] = {"heartbeat_at": utcnow()}
        if live[3]:
            values.update(done=live[0], total=live[1], note=live[2])
        try:
            with db.engine.begin() as conn:
                conn.execute(update(table).where(table.c.id == job_id, table.c.status == JOB_RUNNING)
                             .values(**values))
        except Exception:  # SQLite locked by the job's own transaction: the next beat tries again
            log.debug("heartbeat of job %s not written", job_id, exc_info=True)


def _run_in_app(app, job_id: str, name: str, args: list, kwargs: dict) -> None:
    try:
        with app.app_context():
            _execute(job_id, name, args, kwargs)
    finally:
        with _live_lock:
            _threads.discard(threading.current_thread())


@atexit.register
def _wait_for_threads() -> None:
    """A command that queued work as threads (``flask qualification expire`` sending SMS in
    development) lets it finish before the process ends, for up to EXIT_WAIT_SECONDS."""
    with _live_lock:
        running = [t for t in _threads if t.is_alive()]
    if running:
        log.info("waiting for %s background job thread(s) before exiting", len(running))
    deadline = time.monotonic() + EXIT_WAIT_SECONDS
    for thread in running:
        thread.join(timeout=max(deadline - time.monotonic(), 0))


#: what RQ calls in the worker, by name (:func:`app.worker.run_job`): this module never imports
#: the app factory, so the services that queue jobs do not depend on the whole app
WORKER_ENTRY = "app.worker.run_job"


def run_in_worker(job_id: str, name: str, args: list, kwargs: dict) -> None:
    """Run one queued job in the worker's app context (``flask jobs worker``)."""
    from app.extensions import db

    if os.getpid() != _IMPORT_PID:
        db.engine.dispose(close=False)  # connections inherited from the worker that forked this horse
    _execute(job_id, name, args, kwargs)


def _execute(job_id: str, name: str, args: list, kwargs: dict) -> None:
    from app.extensions import db

    table = BackgroundJob.__table__
    with db.engine.begin() as conn:
        started = conn.execute(update(table).where(table.c.id == job_id, table.c.status == JOB_QUEUED)
                               .values(status=JOB_RUNNING, started_at=utcnow(), heartbeat_at=utcnow())).rowcount
    if not started:
        log.warning("job %s is not queued any more; not run", job_id)
        return
    with _live_lock:
        _live[job_id] = [0, None, None, False]
    stop = threading.Event()
    beat = threading.Thread(target=_beat, args=(current_app._get_current_object(), job_id, stop, current_app.config.get(
        "JOB_BEAT_SECONDS", DEFAULT_BEAT_SECONDS)), daemon=True, name=f"beat-{job_id[:8]}")
    beat.start()
    token = _current_job.set(job_id)
    started_at = time.monotonic()
    try:
        result = _resolve(name)(*args, **kwargs)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        _finish_after(stop, beat, job_id, JOB_FAILED, error=str(exc.message))
    except Exception:
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, name)
        _finish_after(stop, beat, job_id, JOB_FAILED, error=MSG_FAILED)
    else:
        log.info("job %s (%s) done in %.1f s", job_id, name, time.monotonic() - started_at)
        _finish_after(stop, beat, job_id, JOB_DONE, result=result)
    finally:
        _current_job.reset(token)
        with _live_lock:
            _live.pop(job_id, None)
        db.session.remove()


def _finish_after(stop: threading.Event, beat: threading.Thread, job_id: str, state: str, **values) -> None:
    stop.set()
    beat.join(timeout=10)
    _finish(job_id, state, **values)


def worker(burst: bool = False) -> None:
    """Run an RQ worker in this app's context (``flask jobs worker``)."""
    from rq import Worker

    queue = rq_queue()
    Worker([queue], connection=queue.connection).work(burst=burst, with_scheduler=False)
