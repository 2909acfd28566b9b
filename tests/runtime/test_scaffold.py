"""durable init's scaffolding: templates, substitution, no overwrite, no escape."""

from __future__ import annotations

import pytest

from durable.runtime.config import load_config
from durable.runtime.errors import ValidationError
from durable.runtime.scaffold import (
    create_project,
    list_templates,
    project_name_for,
    target_directory,
)


def test_every_template_is_listed_with_a_description():
    templates = {t.name: t.description for t in list_templates()}
    assert list(templates) == ["hello", "approval", "dag", "dag-legacy", "retries"]
    assert all(templates.values())


@pytest.mark.parametrize("template", ["hello", "approval", "dag", "dag-legacy", "retries"])
def test_templates_produce_loadable_projects(tmp_path, template):
    result = create_project(template, tmp_path / "My Shop", name="My Shop")
    assert result.project_name == "my-shop"
    config = load_config(cwd=tmp_path / "My Shop")
    assert config.name == "my-shop"
    assert config.main.exists() and config.workflows
    assert (tmp_path / "My Shop" / "README.md").exists()
    assert (tmp_path / "My Shop" / "tests").is_dir()


def test_existing_files_are_skipped_not_overwritten(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "entry.py").write_text("# mine\n")
    result = create_project("hello", tmp_path)
    assert (tmp_path / "src" / "entry.py").read_text() == "# mine\n"
    assert tmp_path / "src" / "entry.py" in result.skipped
    assert tmp_path / "wrangler.toml" in result.created


def test_a_gitignore_covers_state_secrets_and_the_virtualenv(tmp_path):
    result = create_project("hello", tmp_path / "shop")
    ignored = (tmp_path / "shop" / ".gitignore").read_text().splitlines()
    assert {".durable/", ".wrangler/", ".dev.vars*", ".venv/"} <= set(ignored)
    assert tmp_path / "shop" / ".gitignore" in result.created

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / ".gitignore").write_text("secrets/\n")
    result = create_project("hello", tmp_path / "mine")
    assert (tmp_path / "mine" / ".gitignore").read_text() == "secrets/\n"
    assert tmp_path / "mine" / ".gitignore" in result.skipped


def test_unknown_template_lists_valid_ones(tmp_path):
    with pytest.raises(
        ValidationError, match='Unknown template "nope". Valid templates: hello, approval'
    ):
        create_project("nope", tmp_path)


def test_target_directory_rules(tmp_path):
    assert target_directory(tmp_path, None, None) == tmp_path.resolve()  # empty folder
    (tmp_path / "something").write_text("")
    with pytest.raises(ValidationError, match="not empty"):
        target_directory(tmp_path, None, None)
    assert target_directory(tmp_path, None, "New App") == (tmp_path / "new-app").resolve()
    assert project_name_for("  Billing_Service!! ") == "billing-service"
