"""``lengow-tui db``: schema migrations."""

from __future__ import annotations

import typer

from lengow_tui.cli import app, state
from lengow_tui.cli.common import fail

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade_cmd() -> None:
    """Migrate the database to the latest schema (also done on every start)."""
    from lengow_tui.config import default_database_url, load_config_or_exit
    from lengow_tui.store import StoreError, open_store
    from lengow_tui.store.migrate import current_revision, head_revision

    config = load_config_or_exit(state.config_path)
    url = config.database_url or default_database_url(config.data_dir)
    try:
        store = open_store(url, migrate=False)
        before = current_revision(store)
        from lengow_tui.store.migrate import upgrade

        upgrade(store)
    except StoreError as exc:
        fail(str(exc))
    after = current_revision(store)
    if before == after:
        typer.echo(f"{store.safe_url}: already at the latest schema ({after})")
    else:
        typer.echo(f"{store.safe_url}: migrated {before or 'empty'} -> {after} (head {head_revision()})")
