"""`flask config clients create|list|update|delete`: the clients API's twin for the shell.
Each command calls the same ClientService method as its route; the token is printed once,
alone on stdout, when a client is made."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup

from configapp.components import components
from configapp.ops.cli import table


def _limit(value: float | None) -> str:
    return "none" if value is None else f"${value:,.2f}"


def _models(models: list[str] | tuple[str, ...] | None) -> str:
    return "all" if models is None else ", ".join(models)


@click.group("clients", cls=AppGroup)
def clients_commands() -> None:
    """Client tokens: the tools that call /v1, each with its models and monthly budget."""


@clients_commands.command("create")
@click.argument("name")
@click.option("--model", "models", multiple=True, metavar="MODEL",
              help="A model id or alias it may use (repeat it); default: every model.")
@click.option("--monthly-limit", type=float, help="Its own budget, dollars a month.")
def create_client(name: str, models: tuple[str, ...], monthly_limit: float | None) -> None:
    """Make a client and print its token, this once (POST /api/config/clients)."""
    client, token = components().clients.create(name, list(models) or None, monthly_limit)
    click.echo(f"Client {client.id} made: {client.name} (models: {_models(client.models)}, "
               f"monthly limit: {_limit(client.monthly_limit)}). Its token, shown only now:",
               err=True)
    click.echo(token)


@clients_commands.command("list")
def list_clients() -> None:
    """Every client with this month's spending (GET /api/config/clients)."""
    clients = components().clients.clients()
    if not clients:
        click.echo("No clients.")
        return
    click.echo(table(["ID", "NAME", "MODELS", "MONTHLY LIMIT", "SPENT THIS MONTH", "CREATED"],
                     [[c["id"], c["name"], _models(c["models"]), _limit(c["monthly_limit"]),
                       f"${c['spent']:,.4f}", f"{c['created_at']:%Y-%m-%d}"] for c in clients]))


@clients_commands.command("update")
@click.argument("client_id", type=int)
@click.option("--name", help="A new name.")
@click.option("--model", "models", multiple=True, metavar="MODEL",
              help="The models it may use, replacing the list (repeat it).")
@click.option("--all-models", is_flag=True, help="Let it use every model.")
@click.option("--monthly-limit", type=float, help="Its own budget, dollars a month.")
@click.option("--no-limit", is_flag=True, help="Remove its own budget.")
def update_client(client_id: int, name: str | None, models: tuple[str, ...], all_models: bool,
                  monthly_limit: float | None, no_limit: bool) -> None:
    """Change a client's name, models or monthly limit (PATCH /api/config/clients/{id})."""
    if (models and all_models) or (monthly_limit is not None and no_limit):
        raise click.UsageError("--model and --all-models, or --monthly-limit and --no-limit, "
                               "contradict each other.")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if models or all_models:
        changes["models"] = list(models) or None
    if monthly_limit is not None or no_limit:
        changes["monthly_limit"] = monthly_limit
    if not changes:
        raise click.UsageError("Nothing to change: give --name, --model, --all-models, "
                               "--monthly-limit or --no-limit.")
    client = components().clients.update(client_id, changes)
    click.echo(f"Client {client.id}: {client.name} (models: {_models(client.models)}, "
               f"monthly limit: {_limit(client.monthly_limit)}).")


@clients_commands.command("delete")
@click.argument("client_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_client(client_id: int, yes: bool) -> None:
    """Delete a client: its token stops working at once (DELETE /api/config/clients/{id})."""
    clients = components().clients
    shown = clients.client(client_id)
    if not yes:
        click.confirm(f"Delete client {client_id} ({shown['name']})? Its token stops working.",
                      abort=True)
    clients.delete(client_id)
    click.echo(f"Deleted client {client_id} ({shown['name']}).")
