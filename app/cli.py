"""Flask commands: ``flask sync-roles``, ``flask seed-demo``."""
from __future__ import annotations

import click


def register_cli(app) -> None:
    @app.cli.command("sync-roles")
    def sync_roles_cmd():
        """Rebuild FAB permissions, system roles, ceilings and unit roles (idempotent)."""
        from app.security.roles import sync_roles

        sync_roles()
        click.echo("roles synced")

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

    @app.cli.group("national")
    def national_group():
        """National code data (国家医保耗材编码数据)."""

    @national_group.command("import")
    @click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
    @click.option("--max-mb", type=int, default=None, help="File size limit in MB (default: NATIONAL_IMPORT_MAX_BYTES).")
    @click.option("--show-errors", type=int, default=50, show_default=True, help="Rejected rows to print.")
    def national_import_cmd(files, max_mb, show_errors):
        """Import .xlsx / .csv files of certificates, single items and spec/models (idempotent)."""
        from app.services.national_import import ImportRefused, import_file

        failed = False
        for path in files:
            try:
                result = import_file(path, limit=max_mb * 1024 * 1024 if max_mb else None)
            except ImportRefused as exc:
                click.echo(f"{path}: refused, nothing imported: {exc.message}", err=True)
                failed = True
                continue
            touched = {kind: c for kind, c in result.counts.items()
                       if c.inserted or c.updated or c.unchanged or c.rejected}
            for kind, counts in touched.items() if len(touched) > 1 else ():
                click.echo(f"{path} [{kind}]: inserted {counts.inserted}, updated {counts.updated}, "
                           f"unchanged {counts.unchanged}, rejected {counts.rejected}")
            t = result.total
            click.echo(f"{path}: inserted {t.inserted}, updated {t.updated}, unchanged {t.unchanged}, "
                       f"rejected {t.rejected}")
            for column in result.ignored_columns:
                click.echo(f"  ignored column {column}")
            for error in result.errors[:show_errors]:
                click.echo(f"  rejected {error.sheet} row {error.row} {error.key}: {error.reason}")
            if t.rejected > min(show_errors, len(result.errors)):
                click.echo(f"  ... {t.rejected - min(show_errors, len(result.errors))} more rejected rows "
                           "(see 平台管理 → 国家数据导入)")
        if failed:
            raise SystemExit(1)

    @national_group.command("template")
    @click.argument("output", type=click.Path(dir_okay=False, writable=True))
    def national_template_cmd(output):
        """Write the .xlsx import template (three sheets and instructions) to OUTPUT."""
        from app.services.national_import import template_workbook

        with open(output, "wb") as fh:
            fh.write(template_workbook())
        click.echo(f"template written to {output}")
