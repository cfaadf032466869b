"""Command-line commands (``flask --app organizer ...``): thin wrappers over services."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from organizer.extensions import db


def init_app(app: Flask) -> None:
    """Add the commands to ``flask``. ``with_appcontext`` on each: ``app.test_cli_runner()``
    does not push a context the way the ``flask`` command does."""
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(seal_two_factor_command)
    app.cli.add_command(two_factor_key_command)
    app.cli.add_command(backup_command)


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load the demo federation (only into an empty database) and print the demo logins."""
    from flask import current_app

    from organizer.demo import DEMO_PASSWORD, seed_demo

    if current_app.config.get("ORGANIZER_ENV") == "production":
        # Demo accounts share a published password: never in a real federation's database.
        raise click.ClickException("seed-demo refuses to run in production (ORGANIZER_ENV=production).")

    logins = seed_demo(progress=lambda msg: click.echo(f"  {msg}"))
    if logins is None:
        click.echo("The database already has users; demo data not loaded.")
        return
    click.echo("Demo federation loaded. Logins (demo only!), all with the password "
               f"'{DEMO_PASSWORD}':")
    for email, role in logins:
        click.echo(f"  {email:28} {role}")


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "organizer", "leader"]), default="admin")
@click.password_option()
@with_appcontext
def create_user_command(email: str, name: str, role: str, password: str) -> None:
    """Create an account (the first admin of a production install)."""
    from organizer.auth.models import Role
    from organizer.auth.services import UserError, create_user

    try:
        create_user(email=email, name=name, password=password, role=Role(role))
        db.session.commit()
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {role} {email}.")


@click.command("seal-two-factor")
@with_appcontext
def seal_two_factor_command() -> None:
    """Seal every two-factor secret with the first key of TOTP_SECRET_KEYS (after adding a key,
    or once after upgrading: secrets stored before sealing are sealed at their owner's next
    sign-in otherwise)."""
    from organizer.auth.sealed import SealError
    from organizer.auth.services import seal_two_factor_secrets

    try:
        changed = seal_two_factor_secrets()
    except SealError as error:
        db.session.rollback()
        raise click.ClickException(f"{error}; nothing was changed.") from None
    db.session.commit()
    click.echo(f"Sealed {changed} two-factor secret(s) with the first key.")


@click.command("two-factor-key")
@click.option("--current", is_flag=True, help="Print the key sealing secrets now instead of a new one.")
@with_appcontext
def two_factor_key_command(current: bool) -> None:
    """Print a new key for TOTP_SECRET_KEYS (or, with --current, the one in use: keep it there
    before changing SECRET_KEY when TOTP_SECRET_KEYS is not set)."""
    from flask import current_app

    from organizer.auth.sealed import encode_key, keys_from, new_key

    click.echo(encode_key(keys_from(current_app.config)[0]) if current else new_key())


@click.command("backup")
@click.option("--to", "folder", type=click.Path(file_okay=False), default=None,
              help="Folder for the copy (default: BACKUP_DIR).")
@with_appcontext
def backup_command(folder: str | None) -> None:
    """Write a checked copy of the SQLite database, safe to take while Organizer runs. To
    restore: stop the web server and the worker, put the copy in the database's place (and
    remove its -wal and -shm files), start them again."""
    from pathlib import Path

    from flask import current_app

    from organizer.backups.services import BackupError, backup_database
    from organizer.db import utcnow

    try:
        path = backup_database(db.engine, Path(folder or current_app.config["BACKUP_DIR"]), utcnow())
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backed up to {path}")
