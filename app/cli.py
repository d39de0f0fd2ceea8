"""Flask commands: ``flask sync-roles``, ``flask seed-demo``."""
from __future__ import annotations

import contextlib
import os

import click


def register_cli(app) -> None:
    @app.cli.command("sync-roles")
    def sync_roles_cmd():
        """Rebuild FAB permissions, system roles, ceilings and unit roles (idempotent)."""
        from app.security.roles import sync_roles

        sync_roles()
        click.echo("roles synced")

    @app.cli.command("expire-registrations")
    def expire_registrations_cmd():
        """Free the credit codes of registrations uncertified for UNCERTIFIED_REGISTRATION_DAYS (run daily)."""
        from app.services.units import expire_registrations

        click.echo(f"released {expire_registrations()} credit code(s)")

    @app.cli.command("seed-demo")
    def seed_demo_cmd():
        """Load demo accounts and units (development only, idempotent)."""
        from seed.demo import load_demo

        if app.config.get("ENV_NAME") == "production":
            raise click.ClickException("demo data is never loaded in production")
        for line in load_demo():
            click.echo(line)

    @app.cli.group("jobs")
    def jobs_group():
        """Background jobs (app/jobs.py)."""

    @jobs_group.command("worker")
    @click.option("--burst", is_flag=True, help="Quit when the queue is empty.")
    def jobs_worker_cmd(burst):
        """Run an RQ worker for this app (needs JOB_REDIS_URL or REDIS_URL)."""
        from app import jobs

        if jobs.backend() != "rq":
            raise click.ClickException("no job queue configured: set REDIS_URL (or JOB_REDIS_URL)")
        click.echo(f"worker on {jobs.redis_url()} queue {app.config.get('JOB_QUEUE_NAME') or jobs.QUEUE_NAME}")
        jobs.worker(burst=burst)

    @jobs_group.command("status")
    @click.argument("job_id")
    def jobs_status_cmd(job_id):
        """Show one job's state, progress and result or error."""
        from app import jobs

        info = jobs.status(job_id)
        if info is None:
            raise click.ClickException(f"no job {job_id}")
        click.echo(f"{info.id} {info.name} {info.status} {info.done}/{info.total or '?'} {info.note or ''}")
        if info.error:
            click.echo(f"error: {info.error}")
        if info.result is not None:
            click.echo(f"result: {info.result}")

    @app.cli.group("qualification")
    def qualification_group():
        """耗材资质 (certificates, entrustments, products)."""

    @qualification_group.command("expire")
    @click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Run as of this day (default: today).")
    def expire_cmd(day):
        """Daily: flag expired certificates/entrustments and their products; SMS reminders 90/30/7 days before."""
        from app.services import expiry

        result = expiry.run(day.date() if day else None)
        for due, days in result.reminders:
            click.echo(f"reminder {days}d: {due.label} (unit {due.unit_id}, ends {due.valid_to:%Y-%m-%d})")
        for due in result.expired:
            click.echo(f"expired: {due.label} (unit {due.unit_id}, ended {due.valid_to:%Y-%m-%d})")
        click.echo(f"reminders sent: {len(result.reminders)}, newly expired: {len(result.expired)}, "
                   f"product flags changed: {result.flags_changed}")

    @app.cli.command("prune")
    @click.option("--dry-run", is_flag=True, help="Count what would be deleted, delete nothing.")
    def prune_cmd(dry_run):
        """Daily: delete audit log, SMS, import logs, error files and jobs older than their retention (README)."""
        from app.services import retention

        try:
            result = retention.prune(dry_run=dry_run)
        except retention.RetentionTooShort as exc:
            raise click.ClickException(str(exc)) from None
        for name, count in result.deleted.items():
            cutoff = result.cutoffs[name.split(" ")[0]]
            click.echo(f"{name}: {count} {'would be ' if dry_run else ''}removed (older than {cutoff:%Y-%m-%d})")

    @app.cli.group("pii")
    def pii_group():
        """Encrypted personal data (ID numbers): key rotation and look-up."""

    @pii_group.command("rotate")
    def pii_rotate_cmd():
        """Re-encrypt every ID number with the first key of PII_KEYS and rehash it with PII_HASH_KEY."""
        from app.services import personal_data

        result = personal_data.rotate()
        click.echo(f"re-encrypted {result.rows} value(s) with the first key of PII_KEYS")
        if result.unhashed:
            click.echo(f"{result.unhashed} duplicate(s) within a unit left without a hash: fix them and run again",
                       err=True)

    @pii_group.command("find")
    @click.argument("id_number")
    def pii_find_cmd(id_number):
        """List the operators and unit contacts holding ID_NUMBER (masked output)."""
        from app.services import personal_data

        matches = personal_data.find(id_number)
        for m in matches:
            click.echo(f"{m.kind} #{m.id}: {m.name} {m.id_number} {m.phone} {m.unit}")
        if not matches:
            click.echo("no match")

    @app.cli.group("national")
    def national_group():
        """National code data (国家医保耗材编码数据)."""

    @national_group.command("import")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
    @click.option("--max-mb", type=int, default=None, help="Refuse files over this size (default: no limit).")
    @click.option("--show-errors", type=int, default=50, show_default=True, help="Rejected rows to print.")
    @click.option("--progress/--no-progress", default=None, help="Progress bar (default: when on a terminal).")
    @click.option("--release", "version", default=None, help="The release's version (default: its publication date).")
    @click.option("--published", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="The release's publication date, YYYY-MM-DD.")
    def national_import_cmd(paths, max_mb, show_errors, progress, version, published):
        """Import a release: .xlsx / .csv files, folders of them or a .zip, in one transaction (idempotent)."""
        import sys
        import tempfile

        from app.services.national_import import ImportRefused, expand_paths, import_release

        label = paths[0] if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1})"
        show = sys.stderr.isatty() if progress is None else progress
        with tempfile.TemporaryDirectory(prefix="national_release_") as workdir:
            try:
                sources = expand_paths(paths, workdir)
                with _progress_bar(show) as report:
                    result = import_release(sources, label=os.path.basename(label.rstrip("/")) or label,
                                            limit=max_mb * 1024 * 1024 if max_mb else 0, progress=report,
                                            version=version, published_on=published.date() if published else None)
            except ImportRefused as exc:
                click.echo(f"{label}: refused, nothing imported: {exc.message}", err=True)
                raise SystemExit(1)
        touched = {kind: c for kind, c in result.counts.items() if c.inserted or c.updated or c.unchanged or c.rejected}
        for kind, counts in touched.items() if len(touched) > 1 else ():
            click.echo(f"{label} [{kind}]: inserted {counts.inserted}, updated {counts.updated}, "
                       f"unchanged {counts.unchanged}, rejected {counts.rejected}")
        t = result.total
        click.echo(f"release {result.release.version}: added {result.release.added}, changed {result.release.changed}, "
                   f"deactivated {result.release.deactivated}, transferred {result.release.transferred} (all imports)")
        click.echo(f"{label}: inserted {t.inserted}, updated {t.updated}, unchanged {t.unchanged}, "
                   f"rejected {t.rejected}")
        for column in result.ignored_columns:
            click.echo(f"  ignored column {column}")
        for error in result.errors[:show_errors]:
            click.echo(f"  rejected {error.sheet} row {error.row} {error.key}: {error.reason}")
        if t.rejected > min(show_errors, len(result.errors)):
            click.echo(f"  ... {t.rejected - min(show_errors, len(result.errors))} more rejected rows "
                       "(see 平台管理 → 国家数据导入)")

    @national_group.command("template")
    @click.argument("output", type=click.Path(dir_okay=False, writable=True))
    def national_template_cmd(output):
        """Write the .xlsx import template (three sheets and instructions) to OUTPUT."""
        from app.services.national_import import template_workbook

        with open(output, "wb") as fh:
            fh.write(template_workbook())
        click.echo(f"template written to {output}")


@contextlib.contextmanager
def _progress_bar(show: bool):
    """``report(done, total, note)`` drawing a rich progress bar (rows/s, ETA) on stderr, or nothing."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    class RowsPerSecond(TextColumn):
        def __init__(self):
            super().__init__("")

        def render(self, task):
            from rich.text import Text

            return Text(f"{task.speed:,.0f} rows/s" if task.speed else "", style="progress.data.speed")

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                  RowsPerSecond(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("导入", total=None)

        def report(done: int, total: int | None, note: str) -> None:
            bar.update(task, completed=done, total=total, description=note or "导入")

        yield report
