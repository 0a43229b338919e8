"""`tuner spaces`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tuner.cli import app


@app.command("spaces")
def spaces_cmd(json_out: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False) -> None:
    """List the bundled search spaces and their parameters."""
    from rich.table import Table

    from tuner.cli._display import console
    from tuner.space import list_spaces, load_space

    spaces = [load_space(n) for n in list_spaces()]
    if json_out:
        typer.echo(json.dumps([s.model_dump() for s in spaces], indent=1))
        return
    t = Table(title="Search spaces", header_style="bold")
    for c in ("name", "domain", "default data", "parameters"):
        t.add_column(c)
    for s in spaces:
        t.add_row(s.name, s.domain, s.data, ", ".join(s.params))
    console.print(t)
