from __future__ import annotations

import datetime
import re
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from durable.runtime.config import (
    config_from_dict,
    is_valid_workflow_name,
    load_config,
    parse_dotenv,
)
from durable.runtime.errors import ConfigError

NAME = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9_-]*")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
name_text = st.text(alphabet="abcXYZ019_- .é\n", max_size=70)


@given(name_text | st.from_regex(NAME, fullmatch=True))
def test_workflow_names_accepted_iff_regex_and_length(name: str) -> None:
    expected = 1 <= len(name) <= 64 and NAME.fullmatch(name) is not None
    assert is_valid_workflow_name(name) is expected


def field_value(known: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return known | json_values


workflow_entries = st.dictionaries(
    st.sampled_from(
        ["name", "binding", "class_name", "script_name", "limits", "schedules", "remote", "other"]
    ),
    field_value(
        st.sampled_from(
            ["wf", "WF", "Wf", "bad name", "", {"steps": 3}, ["* * * * *"], {"steps": 0}, 30000]
        )
    ),
)
sections = st.fixed_dictionaries(
    {},
    optional={
        "name": field_value(st.just("app")),
        "main": field_value(st.sampled_from(["entry.py", "missing.py"])),
        "compatibility_date": field_value(st.sampled_from(["2025-11-02", "2026-13-45", "x"])),
        "compatibility_flags": field_value(st.just(["python_workers"])),
        "workflows": field_value(st.lists(field_value(workflow_entries), max_size=3)),
        "vars": json_values,
        "unknown": json_values,
    },
)
configs = st.builds(
    lambda top, envs: {**top, **({"env": envs} if envs is not None else {})},
    sections,
    st.none() | json_values | st.dictionaries(st.sampled_from(["staging", "qa"]), sections),
)


@settings(max_examples=300, deadline=None)
@given(configs, st.sampled_from([None, "staging", "prod"]))
def test_arbitrary_configs_raise_only_config_error(raw: dict[str, object], env: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "entry.py").write_text("")
        try:
            config = config_from_dict(
                raw, root / "wrangler.json", env=env, today=datetime.date(2026, 1, 1)
            )
        except ConfigError as error:
            assert str(error).startswith(str((root / "wrangler.json").resolve()))
        else:
            assert config.main == (root / "entry.py").resolve()
            assert all(is_valid_workflow_name(wf.name) for wf in config.workflows)
            assert all(wf.binding.isidentifier() and wf.step_limit > 0 for wf in config.workflows)


@given(st.text(max_size=200))
def test_dotenv_parser_never_raises(text: str) -> None:
    assert all(isinstance(value, str) for value in parse_dotenv(text).values())


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='{}[]",:=#/*\n abn1.-', max_size=60), st.sampled_from(["json", "toml"]))
def test_arbitrary_file_text_raises_only_config_error(text: str, kind: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"wrangler.{kind}"
        path.write_text(text)
        try:
            load_config(path)
        except ConfigError:
            pass
