"""docs/cli-reference.md is generated from every command's --help and must not go stale."""

from __future__ import annotations

from durable.cli import reference


def test_cli_reference_is_current():
    expected = reference.render()
    current = reference.DEFAULT_PATH.read_text(encoding="utf-8")
    assert current == expected, (
        "docs/cli-reference.md is stale: run `python -m durable.cli.reference`"
    )


def test_cli_reference_covers_every_command():
    text = reference.render()
    for path in (
        "durable workflows list",
        "durable workflows describe",
        "durable workflows delete",
        "durable workflows trigger",
        "durable workflows instances list",
        "durable workflows instances describe",
        "durable workflows instances send-event",
        "durable workflows instances pause",
        "durable workflows instances resume",
        "durable workflows instances terminate",
        "durable workflows instances restart",
        "durable workflows instances delete",
        "durable instances list",
    ):
        assert f"## `{path}`" in text


def test_check_mode_reports_staleness(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(reference, "DEFAULT_PATH", tmp_path / "cli-reference.md")
    assert reference.main(["--check"]) == 1
    assert "is stale" in capsys.readouterr().err
    assert reference.main([]) == 0
    assert reference.main(["--check"]) == 0
