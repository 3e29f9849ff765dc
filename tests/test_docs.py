"""The docs stay true: every command, option and format is in the README, and its examples run.

The docs' YAML examples are read by the parser and the JSON Schema in tests/test_schema.py."""

import re

import pytest

from conv_cost.cli import app
from conv_cost.render import FORMATS

from .conftest import ROOT

def readme():
    return (ROOT / "README.md").read_text()


@pytest.mark.parametrize("command", sorted(c.name or c.callback.__name__ for c in app.registered_commands))
def test_every_command_is_in_the_readme(command):
    assert f"convcost {command}" in readme()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_is_in_the_readme(fmt):
    assert re.search(rf"--format [a-z|]*\b{fmt}\b", readme())


def test_readme_starts_with_the_two_commands():
    blocks = re.findall(r"```sh\n(.*?)```", readme(), re.S)[:2]
    assert "pip install -e ." in blocks[0] and "convcost report layer_specs/" in blocks[0]
    assert "pip install -e '.[test]'" in blocks[1] and "pytest" in blocks[1]


def options():
    import typer.main

    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    yield pytest.param(opt, id=f"{name} {opt}")


@pytest.mark.parametrize("option", sorted(set(options()), key=str))
def test_every_option_is_in_the_readme(option):
    assert option in readme()


def test_readme_library_example_prints_what_its_comments_say(monkeypatch):
    [code] = re.findall(r"```python\n(.*?)```", readme(), re.S)
    expected = re.findall(r"print\(.*\)\s+# (.*)", code)
    printed: list[str] = []
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {"print": lambda *a: printed.append(" ".join(map(str, a)))})
    assert printed == expected and len(expected) == 3
