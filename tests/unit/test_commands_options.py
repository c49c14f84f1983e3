"""lares.commands.options: the shared options as @uses gives them to a command."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from lares.commands.options import FileOpt, JsonOpt, Requested, Shared, StateOpt, group, uses


def _app() -> tuple[typer.Typer, list[tuple[str, Shared]]]:
    seen: list[tuple[str, Shared]] = []
    app = group("t", "test")

    @app.command()
    @uses("file", "as_json")
    def one(
        name: Annotated[str, typer.Argument(help="A name.")],
        loud: Annotated[bool, typer.Option("--loud", help="Louder.")] = False,
        *,
        shared: Shared,
    ) -> None:
        seen.append((name + ("!" if loud else ""), shared))

    @app.command()
    @uses("as_json", "state_dir", "file")  # the order given does not matter
    def two(*, shared: Shared) -> None:
        seen.append(("two", shared))

    return app, seen


def test_the_shared_options_follow_the_commands_own_in_one_order() -> None:
    app, _ = _app()
    commands = {c.name: c for c in typer.main.get_command(app).commands.values()}  # type: ignore[attr-defined]
    assert [p.name for p in commands["one"].params] == ["name", "loud", "file", "as_json"]
    assert [p.name for p in commands["two"].params] == ["file", "state_dir", "as_json"]
    two = inspect.signature(app.registered_commands[1].callback)  # type: ignore[arg-type]
    assert [p.annotation for p in two.parameters.values()] == [FileOpt, StateOpt, JsonOpt]


def test_the_command_receives_what_it_was_given_and_defaults_for_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Requested, "as_json", False)  # --json sets it; put back after
    app, seen = _app()
    runner = CliRunner()
    ran = runner.invoke(app, ["one", "x", "--loud", "--json", "-f", str(tmp_path / "b.yaml")])
    assert ran.exit_code == 0, ran.output
    ran = runner.invoke(app, ["two", "--state-dir", str(tmp_path)], env={"LARES_FILE": ""})
    assert ran.exit_code == 0, ran.output
    assert seen == [
        ("x!", Shared(file=tmp_path / "b.yaml", state_dir=None, as_json=True)),
        ("two", Shared(file=None, state_dir=tmp_path, as_json=False)),
    ]


def test_a_shared_option_that_does_not_exist_is_refused_when_the_command_is_defined() -> None:
    with pytest.raises(ValueError, match="no shared option verbose"):
        uses("file", "verbose")
