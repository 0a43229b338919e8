"""`tuner spaces`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from tuner.cli import app


def _values(p: Any) -> str:
    if p.type == "categorical":
        return ", ".join(str(c) for c in p.choices)
    step = f" step {p.step:g}" if p.step else ""
    return f"{p.low:g} .. {p.high:g}{' (log)' if p.log else ''}{step}"


def _condition(p: Any) -> str:
    return " and ".join(f"{k} in {{{', '.join(map(str, v))}}}" for k, v in p.when.items())


@app.command("spaces")
def spaces_cmd(
    name: Annotated[str | None, typer.Argument(help="show only this space (name or YAML path)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List the bundled search spaces: domain, default data, fixed values and every parameter."""
    from rich.table import Table

    from tuner.cli._display import console
    from tuner.space import list_spaces, load_space

    spaces = [load_space(name)] if name else [load_space(n) for n in list_spaces()]
    if json_out:
        typer.echo(json.dumps([s.model_dump() for s in spaces], indent=1))
        return
    for s in spaces:
        fixed = ", ".join(f"{k}={v}" for k, v in s.fixed.items())
        t = Table(
            title=f"[bold]{s.name}[/bold] ({s.domain}): {s.description}",
            caption=f"default data: {s.data}; fixed: {fixed or '-'}",
            header_style="bold",
            title_justify="left",
        )
        for col in ("parameter", "values", "only when", "help"):
            t.add_column(col)
        for pname, p in s.params.items():
            shown = pname if not p.key else f"{p.key} [dim]({pname})[/dim]"
            t.add_row(shown, _values(p), _condition(p), p.help)
        console.print(t)
