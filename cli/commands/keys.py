"""`kyc keys`: create, list and revoke API keys (stored only as hashes in KYC_API_KEYS_FILE).

Every command says which keys file it used: a key written under another folder's data
directory (the default ``./var`` is relative to where the command runs) is one the service
never sees, and nothing else would tell.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from data.api_keys import PERMISSIONS, ApiKeyStore
from kyc import settings

app = typer.Typer(help="API keys: each belongs to one tenant and carries a set of permissions.")


def _store() -> ApiKeyStore:
    return ApiKeyStore(settings.API_KEYS_FILE)


def keys_file_location() -> str:
    """The keys file, absolute, and which setting makes a service read that file."""
    keys_file, data_dir = settings.API_KEYS_FILE, settings.DATA_DIR
    if keys_file == data_dir / "api_keys.json":
        return (
            f"{keys_file}, the keys file of the data directory {data_dir}: only a service"
            " running with that data directory (KYC_DATA_DIR) accepts these keys"
        )
    return (
        f"{keys_file} (KYC_API_KEYS_FILE; the data directory is {data_dir}): only a service"
        " running with that KYC_API_KEYS_FILE accepts these keys"
    )


@app.command()
def create(
    tenant: Annotated[str, typer.Option(help="The tenant the key acts for.")],
    permissions: Annotated[
        str,
        typer.Option(help=f"Comma-separated, from: {', '.join(PERMISSIONS)}."),
    ] = "kyc:create,kyc:read",
) -> None:
    """Create a key and print it once: only its hash is kept."""
    wanted = [p.strip() for p in permissions.split(",") if p.strip()]
    try:
        token, record = _store().create(tenant, wanted)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(token)
    typer.echo(
        f"{record.key_id} for tenant {record.tenant}: {', '.join(record.permissions) or 'no permissions'}."
        " Store the key now: it is not shown again.",
        err=True,
    )
    typer.echo(f"Stored in {keys_file_location()}.", err=True)


@app.command(name="list")
def list_keys() -> None:
    """Every key's id, tenant, permissions and state (never the key)."""
    table = Table("key id", "tenant", "permissions", "created", "state")
    for key in _store().list():
        state = "revoked" if key.revoked else "active"
        table.add_row(key.key_id, key.tenant, " ".join(key.permissions), key.created_at, state)
    Console().print(table)
    typer.echo(f"Keys of {keys_file_location()}.", err=True)


@app.command()
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id shown by `kyc keys list`.")],
) -> None:
    """Revoke a key: requests with it get 401 from then on."""
    if not _store().revoke(key_id):
        typer.echo(f"error: no key {key_id} in {settings.API_KEYS_FILE}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id} in {settings.API_KEYS_FILE}")
