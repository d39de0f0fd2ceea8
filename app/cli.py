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
