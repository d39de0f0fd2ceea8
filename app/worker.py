"""The background worker's entry point (RQ calls ``app.worker.run_job`` by name).

Inside ``flask jobs worker`` the app context exists; a plain ``rq worker`` gets one built here.
Nothing in the app imports this module: it sits on top of everything, like ``app.cli``.
"""
from __future__ import annotations

from flask import has_app_context

from app import jobs


def run_job(job_id: str, name: str, args: list, kwargs: dict) -> None:
    if has_app_context():
        jobs.run_in_worker(job_id, name, args, kwargs)
        return
    from app import create_app

    with create_app().app_context():
        jobs.run_in_worker(job_id, name, args, kwargs)
