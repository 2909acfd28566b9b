from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from durable.runtime.config import (
    DEFAULT_STEP_LIMIT,
    ProjectConfig,
    config_from_dict,
    find_config,
    load_config,
    parse_dotenv,
)
from durable.runtime.errors import ConfigError, WorkflowNotFoundError

TOML = """\
name = "app"
main = "src/entry.py"
compatibility_date = "2025-11-02"
compatibility_flags = ["python_workers"]

[[workflows]]
name = "my-workflow"
binding = "MY_WORKFLOW"
class_name = "MyWorkflow"
"""


def project(tmp_path: Path, text: str = TOML, name: str = "wrangler.toml") -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "entry.py").write_text("")
    path = tmp_path / name
    path.write_text(text)
    return path


def base(**overrides: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "name": "app",
        "main": "src/entry.py",
        "compatibility_date": "2025-11-02",
        "compatibility_flags": ["python_workers"],
        "workflows": [{"name": "wf", "binding": "WF", "class_name": "Wf"}],
    }
    raw.update(overrides)
    return raw


def load_dict(tmp_path: Path, raw: dict[str, object], **kwargs: object) -> ProjectConfig:
    path = project(tmp_path, json.dumps(raw), "wrangler.json")
    return load_config(path, **kwargs)  # type: ignore[arg-type]


def error_for(tmp_path: Path, raw: dict[str, object], **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_dict(tmp_path, raw, **kwargs)
    return str(info.value)


# --- finding the file ---------------------------------------------------------------------------


def test_find_prefers_json_then_jsonc_then_toml(tmp_path: Path) -> None:
    for name in ("wrangler.toml", "wrangler.jsonc", "wrangler.json"):
        (tmp_path / name).write_text("{}")
        assert find_config(tmp_path) == tmp_path.resolve() / name


def test_find_walks_up_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text("")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == tmp_path.resolve() / "wrangler.toml"


def test_find_searches_each_name_all_the_way_up_like_wrangler(tmp_path: Path) -> None:
    (tmp_path / "wrangler.json").write_text("{}")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "wrangler.toml").write_text("")
    assert find_config(sub) == tmp_path.resolve() / "wrangler.json"


def test_find_nothing_suggests_init_and_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        find_config(tmp_path)
    message = str(info.value)
    for needle in ("wrangler.json", "wrangler.jsonc", "wrangler.toml", "durable init", "--config"):
        assert needle in message


def test_explicit_config_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        find_config(tmp_path, Path("missing.toml"))
    project(tmp_path, TOML, "custom.toml")
    assert find_config(tmp_path, Path("custom.toml")) == tmp_path.resolve() / "custom.toml"


# --- parsing ------------------------------------------------------------------------------------


def test_toml_parses(tmp_path: Path) -> None:
    config = load_config(project(tmp_path))
    assert config.name == "app"
    assert config.main == (tmp_path / "src" / "entry.py").resolve()
    assert config.root == tmp_path.resolve()
    assert config.compatibility_date == datetime.date(2025, 11, 2)
    assert config.compatibility_flags == ("python_workers",)
    wf = config.workflow("my-workflow")
    assert (wf.binding, wf.class_name, wf.script_name) == ("MY_WORKFLOW", "MyWorkflow", None)
    assert wf.step_limit == DEFAULT_STEP_LIMIT == 1024
    assert config.workflow_names == ("my-workflow",)
    assert config.warnings == ()
    assert config.env_name is None


def test_jsonc_with_comments_and_trailing_commas(tmp_path: Path) -> None:
    text = """{
      // a comment
      "name": "app", /* block */
      "main": "src/entry.py",
      "compatibility_date": "2025-11-02",
      "compatibility_flags": ["python_workers",],
      "workflows": [
        {"name": "wf", "binding": "WF", "class_name": "Wf",},
      ],
    }"""
    config = load_config(project(tmp_path, text, "wrangler.jsonc"))
    assert config.workflow_names == ("wf",)
    assert config.warnings == ()


def test_toml_example_suffix_is_parsed_as_toml(tmp_path: Path) -> None:
    config = load_config(project(tmp_path, TOML, "wrangler.toml.example"))
    assert config.name == "app"


def test_cwd_discovery_and_relative_explicit_path(tmp_path: Path) -> None:
    project(tmp_path)
    assert load_config(cwd=tmp_path).name == "app"
    assert load_config(Path("wrangler.toml"), cwd=tmp_path).name == "app"


def test_toml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = project(tmp_path, 'name = "app"\nmain = = 1\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert (info.value.line, info.value.column) == (2, 8)
    assert str(info.value).startswith(f"{path.resolve()}:2:8: invalid TOML")


def test_toml_error_at_end_of_document_points_at_the_last_line(tmp_path: Path) -> None:
    path = project(tmp_path, 'name = "app"\nx = [1,')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert (info.value.line, info.value.column) == (2, 8)


def test_jsonc_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = project(tmp_path, '{\n  "name": "app",\n  "main": ,\n}', "wrangler.jsonc")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert (info.value.line, info.value.column) == (3, 11)
    assert f"{path.resolve()}:3:11: invalid JSON" in str(info.value)


def test_empty_json_and_non_object(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(project(tmp_path, "", "wrangler.json"))
    assert info.value.line == 1
    with pytest.raises(ConfigError, match="must be an object"):
        load_config(project(tmp_path, "[1, 2]", "wrangler.json"))


# --- validation ---------------------------------------------------------------------------------


def test_missing_main(tmp_path: Path) -> None:
    raw = base()
    del raw["main"]
    message = error_for(tmp_path, raw)
    assert "Missing entry-point" in message and '"main"' in message
    assert "\n" not in message


def test_main_must_exist_and_be_a_string(tmp_path: Path) -> None:
    message = error_for(tmp_path, base(main="src/nope.py"))
    assert 'The entry-point file at "src/nope.py" was not found' in message
    message = error_for(tmp_path, base(main=3))
    assert 'Expected "main" to be of type string but got 3.' in message


def test_single_error_is_one_line_naming_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_dict(tmp_path, base(workflows=[{"name": "wf", "binding": "WF"}]))
    error = info.value
    assert error.field == "workflows[0].class_name"
    assert str(error) == (
        f'{(tmp_path / "wrangler.json").resolve()}: "workflows[0]" bindings should have a '
        'string "class_name" field but got {"name": "wf", "binding": "WF"}.'
    )


@pytest.mark.parametrize("key", ["binding", "name", "class_name"])
def test_required_workflow_strings(tmp_path: Path, key: str) -> None:
    entry: dict[str, object] = {"name": "wf", "binding": "WF", "class_name": "Wf"}
    entry[key] = 5
    message = error_for(tmp_path, base(workflows=[entry]))
    assert f'"workflows[0]" bindings should have a string "{key}" field but got' in message


@pytest.mark.parametrize("name", ["", "-lead", "has space", "x" * 65, "dot.ted", "wf\n"])
def test_invalid_workflow_names(tmp_path: Path, name: str) -> None:
    message = error_for(
        tmp_path, base(workflows=[{"name": name, "binding": "W", "class_name": "C"}])
    )
    assert '"workflows[0]" binding "name" field is invalid. Workflow names must be 1-64' in message


@pytest.mark.parametrize("binding", ["my-wf", "1WF", "class", ""])
def test_binding_must_be_a_python_identifier(tmp_path: Path, binding: str) -> None:
    entry = {"name": "wf", "binding": binding, "class_name": "C"}
    message = error_for(tmp_path, base(workflows=[entry]))
    assert '"workflows[0]" bindings "binding" field must be a valid Python identifier' in message


def test_optional_fields_type_errors(tmp_path: Path) -> None:
    entry = {"name": "wf", "binding": "WF", "class_name": "C", "script_name": 1}
    assert 'have a string "script_name" field but got 1.' in error_for(
        tmp_path, base(workflows=[entry])
    )
    entry = {"name": "wf", "binding": "WF", "class_name": "C", "limits": [1]}
    assert 'have an object "limits" field but got [1].' in error_for(
        tmp_path, base(workflows=[entry])
    )


@pytest.mark.parametrize("steps", [0, -1, 1.5, "10", True, None])
def test_limits_steps_must_be_positive_integer(tmp_path: Path, steps: object) -> None:
    entry = {"name": "wf", "binding": "WF", "class_name": "C", "limits": {"steps": steps}}
    message = error_for(tmp_path, base(workflows=[entry]))
    expected = f"must be a positive integer but got {json.dumps(steps)}."
    assert f'"workflows[0]" bindings "limits.steps" field {expected}' in message


def test_step_limit_override_and_warning_above_production_max(tmp_path: Path) -> None:
    entry = {"name": "wf", "binding": "WF", "class_name": "C", "limits": {"steps": 5000}}
    assert load_dict(tmp_path, base(workflows=[entry])).workflow("wf").step_limit == 5000
    entry["limits"] = {"steps": 30000}
    config = load_dict(tmp_path, base(workflows=[entry]))
    assert config.workflow("wf").step_limit == 30000
    assert config.warnings == (
        '"workflows[0]" has a step limit of 30000, which exceeds the production maximum of '
        "25,000. This configuration may not work when deployed.",
    )


def test_workflows_shape_errors(tmp_path: Path) -> None:
    assert 'The field "workflows" should be an array but got {"a": 1}.' in error_for(
        tmp_path, base(workflows={"a": 1})
    )
    assert '"workflows" bindings should be objects, but got "x"' in error_for(
        tmp_path, base(workflows=["x"])
    )


def test_schedules(tmp_path: Path) -> None:
    entry: dict[str, object] = {"name": "wf", "binding": "WF", "class_name": "C"}
    for value, problem in (
        ("", "be an empty string."),
        ([], "be an empty array."),
        (["* * * * *", ""], "contain empty strings."),
    ):
        message = error_for(tmp_path, base(workflows=[{**entry, "schedules": value}]))
        assert f'"workflows[0]" bindings "schedules" field must not {problem}' in message
    config = load_dict(tmp_path, base(workflows=[{**entry, "schedules": "0 * * * *"}]))
    assert config.workflow("wf").schedules == ("0 * * * *",)


def test_external_script_with_limits_is_an_error(tmp_path: Path) -> None:
    entry = {
        "name": "wf",
        "binding": "WF",
        "class_name": "C",
        "script_name": "other",
        "limits": {"steps": 10},
    }
    message = error_for(tmp_path, base(workflows=[entry]))
    assert (
        'Workflow "wf" has "limits" configured but references external script "other".' in message
    )
    entry["script_name"] = "app"  # the Worker's own name: defined here
    assert load_dict(tmp_path, base(workflows=[entry])).workflow("wf").script_name == "app"


def test_duplicate_names_and_bindings(tmp_path: Path) -> None:
    workflows = [
        {"name": "a", "binding": "A", "class_name": "C"},
        {"name": "a", "binding": "B", "class_name": "C"},
        {"name": "b", "binding": "B", "class_name": "C"},
    ]
    message = error_for(tmp_path, base(workflows=workflows))
    assert '"workflows" bindings must have unique "name" values; duplicate(s) found: "a"' in message
    assert "B assigned to multiple Workflow bindings." in message
    assert message.splitlines()[0].endswith("found 2 problems:")


def test_var_clashing_with_workflow_binding(tmp_path: Path) -> None:
    message = error_for(tmp_path, base(vars={"WF": "x"}))
    assert "WF assigned to Environment Variable and Workflow bindings." in message


def test_all_errors_are_reported_together(tmp_path: Path) -> None:
    raw = base(name=1, compatibility_date="yesterday", workflows=[{"binding": "WF"}])
    message = error_for(tmp_path, raw)
    assert message.splitlines()[0] == f"{(tmp_path / 'wrangler.json').resolve()}: found 4 problems:"
    assert 'Expected "name" to be of type string but got 1.' in message
    assert '"compatibility_date" field should be a valid ISO-8601 date' in message
    assert 'should have a string "name" field' in message
    assert 'should have a string "class_name" field' in message


def test_unknown_keys_warn_but_known_wrangler_keys_do_not(tmp_path: Path) -> None:
    raw = base(
        routes=[],
        kv_namespaces=[],
        d1_databases=[],
        triggers={},
        build={},
        observability={},
        assets={},
        account_id="x",
        workers_dev=True,
        dev={},
        bogus=1,
        other=2,
    )
    raw["workflows"] = [
        {
            "name": "wf",
            "binding": "WF",
            "class_name": "C",
            "extra": 1,
            "limits": {"steps": 5, "cpu": 1},
        }
    ]
    config = load_dict(tmp_path, raw)
    assert config.warnings == (
        'Unexpected fields found in top-level field: "bogus","other"',
        'Unexpected fields found in workflows[0] field: "extra"',
        'Unexpected fields found in workflows[0].limits field: "cpu"',
    )


def test_missing_compatibility_date_uses_today_and_warns(tmp_path: Path) -> None:
    raw = base()
    del raw["compatibility_date"]
    config = load_dict(tmp_path, raw, today=datetime.date(2026, 3, 1))
    assert config.compatibility_date == datetime.date(2026, 3, 1)
    assert config.warnings[0].startswith(
        "No compatibility_date was specified. Using today's date: 2026-03-01."
    )
    assert load_dict(tmp_path, raw).compatibility_date == datetime.date.today()


def test_missing_python_workers_flag_warns(tmp_path: Path) -> None:
    config = load_dict(tmp_path, base(compatibility_flags=[]))
    assert any('"python_workers" compatibility flag is required' in w for w in config.warnings)


def test_workflow_lookup_unknown_raises_not_found(tmp_path: Path) -> None:
    config = load_dict(tmp_path, base())
    with pytest.raises(WorkflowNotFoundError, match='"nope" not found. Known workflows: wf.'):
        config.workflow("nope")


# --- environments -------------------------------------------------------------------------------


def test_env_inherits_main_date_flags_and_suffixes_name(tmp_path: Path) -> None:
    env_wf = {"name": "wf-staging", "binding": "WF", "class_name": "Wf"}
    raw = base(vars={"A": "top"}, env={"staging": {"workflows": [env_wf], "vars": {"A": "env"}}})
    config = load_dict(tmp_path, raw, env="staging")
    assert config.env_name == "staging"
    assert config.name == "app-staging"
    assert config.main == (tmp_path / "src" / "entry.py").resolve()
    assert config.compatibility_date == datetime.date(2025, 11, 2)
    assert config.compatibility_flags == ("python_workers",)
    assert config.workflow_names == ("wf-staging",)
    assert config.vars == {"A": "env"}
    assert config.warnings == ()
    top = load_dict(tmp_path, raw)
    assert (top.name, top.workflow_names, top.vars) == ("app", ("wf",), {"A": "top"})


def test_env_overrides_name_and_date(tmp_path: Path) -> None:
    raw = base(env={"prod": {"name": "svc", "compatibility_date": "2026-06-01", "workflows": []}})
    config = load_dict(tmp_path, raw, env="prod")
    assert (config.name, config.compatibility_date) == ("svc", datetime.date(2026, 6, 1))


def test_workflows_are_not_inherited_by_envs(tmp_path: Path) -> None:
    config = load_dict(tmp_path, base(env={"staging": {}}), env="staging")
    assert config.workflows == ()
    assert config.warnings == (
        '"workflows" exists at the top level, but not on "env.staging".\n'
        'This is not what you probably want, since "workflows" is not inherited by environments.\n'
        'Please add "workflows" to "env.staging".',
    )


def test_env_missing_a_top_level_binding_warns(tmp_path: Path) -> None:
    other = {"name": "other", "binding": "OTHER", "class_name": "C"}
    config = load_dict(tmp_path, base(env={"s": {"workflows": [other]}}), env="s")
    assert config.warnings == (
        'There is a workflows binding with name "WF" at the top level, but not on "env.s". This '
        'is not what you probably want, since "workflows" is not inherited by environments.',
    )


def test_env_field_paths_are_prefixed(tmp_path: Path) -> None:
    raw = base(
        env={
            "staging": {
                "workflows": [{"name": "bad name", "binding": "B", "class_name": "C"}],
                "extra": 1,
            }
        }
    )
    with pytest.raises(ConfigError) as info:
        load_dict(tmp_path, raw, env="staging")
    assert info.value.field == "env.staging.workflows[0].name"
    assert '"env.staging.workflows[0]" binding "name" field is invalid.' in str(info.value)


def test_env_unexpected_field_warning(tmp_path: Path) -> None:
    raw = base(env={"staging": {"workflows": base()["workflows"], "bogus": 1}})
    config = load_dict(tmp_path, raw, env="staging")
    assert config.warnings == ('Unexpected fields found in env.staging field: "bogus"',)


def test_unknown_env_lists_defined_envs(tmp_path: Path) -> None:
    raw = base(env={"staging": {}, "production": {}})
    message = error_for(tmp_path, raw, env="qa")
    assert 'No environment found in configuration with name "qa".' in message
    assert '"production", "staging"' in message


def test_unknown_env_without_any_envs_warns_and_uses_top_level(tmp_path: Path) -> None:
    config = load_dict(tmp_path, base(), env="qa")
    assert config.env_name is None and config.workflow_names == ("wf",)
    assert 'No environment found in configuration with name "qa".' in config.warnings[0]


# --- vars and secrets ---------------------------------------------------------------------------


def test_vars_and_dev_vars_override(tmp_path: Path) -> None:
    (tmp_path / ".dev.vars").write_text('API_KEY="s3cret"\nMODE=dev\n')
    (tmp_path / ".env").write_text("IGNORED=1\n")
    config = load_dict(tmp_path, base(vars={"MODE": "prod", "N": 3, "OBJ": {"a": [1]}}))
    assert config.vars == {"MODE": "dev", "N": 3, "OBJ": {"a": [1]}, "API_KEY": "s3cret"}
    assert config.secret_names == frozenset({"API_KEY", "MODE"})


def test_env_specific_dev_vars(tmp_path: Path) -> None:
    (tmp_path / ".dev.vars").write_text("K=base\n")
    (tmp_path / ".dev.vars.staging").write_text("K=staging\n")
    raw = base(env={"staging": {"workflows": []}, "qa": {"workflows": []}})
    assert load_dict(tmp_path, raw, env="staging").vars == {"K": "staging"}
    assert load_dict(tmp_path, raw, env="qa").vars == {"K": "base"}


def test_dot_env_when_no_dev_vars(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=1\nB=2\n")
    (tmp_path / ".env.staging").write_text("B=3\n")
    assert load_dict(tmp_path, base()).vars == {"A": "1", "B": "2"}
    raw = base(env={"staging": {"workflows": []}})
    assert load_dict(tmp_path, raw, env="staging").vars == {"A": "1", "B": "3"}


def test_explicit_env_file(tmp_path: Path) -> None:
    (tmp_path / ".dev.vars").write_text("A=dev\n")
    (tmp_path / "custom.env").write_text("A=custom\n")
    config = load_dict(tmp_path, base(), env_file=Path("custom.env"), cwd=tmp_path)
    assert config.vars == {"A": "custom"}
    with pytest.raises(ConfigError, match="does not exist"):
        load_dict(tmp_path, base(), env_file=tmp_path / "missing.env")


def test_parse_dotenv() -> None:
    text = """
# comment
export A=1
B = "two words" # trailing
C='single $x'
D=plain # comment
E="line\\nbreak"
F=a#b
not a line
=nokey
G=
"""
    assert parse_dotenv(text) == {
        "A": "1",
        "B": "two words",
        "C": "single $x",
        "D": "plain",
        "E": "line\nbreak",
        "F": "a#b",
        "G": "",
    }


# --- compatibility flags ------------------------------------------------------------------------

FLAGS = [
    (
        "python_workflows",  # implied by python_workers from its date (audit 7)
        "python_workflows",
        "disable_python_workflows",
        datetime.date(2025, 9, 20),
    ),
    (
        "implicit_step_dependencies",
        "python_workflows_implicit_dependencies",
        "no_python_workflows_implicit_dependencies",
        datetime.date(2026, 2, 25),
    ),
    (
        "no_global_handlers",
        "python_no_global_handlers",
        "disable_python_no_global_handlers",
        datetime.date(2025, 8, 14),
    ),
    (
        "preserve_non_retryable_error_message",
        "workflows_preserve_non_retryable_error_message",
        "workflows_replace_non_retryable_error_message",
        datetime.date(2026, 5, 14),
    ),
]


@pytest.mark.parametrize(("attr", "enable", "disable", "default"), FLAGS)
def test_compat_flags_by_date_and_explicit_flags(
    tmp_path: Path, attr: str, enable: str, disable: str, default: datetime.date
) -> None:
    def flag(date: datetime.date, *flags: str) -> bool:
        raw = base(
            compatibility_date=date.isoformat(), compatibility_flags=["python_workers", *flags]
        )
        return bool(getattr(config_from_dict(raw, project(tmp_path)), attr))

    day = datetime.timedelta(days=1)
    assert flag(default - day) is False
    assert flag(default) is True
    assert flag(default + day) is True
    assert flag(default - day, enable) is True
    assert flag(default + day, disable) is False


def test_conflicting_flags_are_an_error(tmp_path: Path) -> None:
    flags = ["python_workers", "python_no_global_handlers", "disable_python_no_global_handlers"]
    message = error_for(tmp_path, base(compatibility_flags=flags))
    assert "cannot both be set" in message


def test_compat_flags_must_be_strings(tmp_path: Path) -> None:
    message = error_for(tmp_path, base(compatibility_flags=["python_workers", 1]))
    assert 'Expected "compatibility_flags" to be of type string array' in message


def test_toml_native_date_is_rejected_like_wrangler(tmp_path: Path) -> None:
    text = TOML.replace('"2025-11-02"', "2025-11-02")
    with pytest.raises(ConfigError, match="valid ISO-8601 date"):
        load_config(project(tmp_path, text))
