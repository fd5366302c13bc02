"""The documents: generated pages current, every named command real, README short and its links whole."""

import importlib.util
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("video_lstm", "pipelines", "export")
# `python -m` modules of other projects that the documents name (the venv, the tests, the release).
EXTERNAL = {"venv", "pytest", "build", "pip"}


def _gen():
    spec = importlib.util.spec_from_file_location("gen_commands", os.path.join(ROOT, "docs", "gen_commands.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _documents():
    docs = os.path.join(ROOT, "docs")
    return [os.path.join(ROOT, "README.md")] + sorted(
        os.path.join(docs, name) for name in os.listdir(docs) if name.endswith(".md"))


def test_the_commands_page_and_the_floor_diagram_are_current():
    gen = _gen()
    stale = gen.stale()
    assert stale == [], f"{', '.join(stale)} stale: regenerate with `{gen.REGENERATE}` and commit the result"


def test_every_command_module_is_on_the_commands_page():
    """A module that ends in `cli.run(define_flags, main)` is a command; each is in COMMANDS."""
    found = set()
    for package in PACKAGES:
        for directory, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                path = os.path.join(directory, name)
                if name.endswith(".py") and "cli.run(define_flags, main)" in open(path).read():
                    found.add(os.path.relpath(path, ROOT)[:-3].replace(os.sep, "."))
    assert found - {"video_lstm.core.cli"} == set(_gen().command_modules())


def test_every_python_m_module_named_in_the_documents_exists():
    missing = []
    for path in _documents():
        for module in set(re.findall(r"python3? -m ([A-Za-z_][\w.]*)", open(path).read())):
            if module.split(".")[0] not in PACKAGES:
                ok = module in EXTERNAL
            else:
                base = os.path.join(ROOT, *module.split("."))
                ok = os.path.exists(base + ".py") or os.path.exists(os.path.join(base, "__main__.py"))
            if not ok:
                missing.append(f"{os.path.relpath(path, ROOT)}: python -m {module}")
    assert missing == []


def test_the_readme_is_short_and_its_links_to_files_resolve():
    text = open(os.path.join(ROOT, "README.md")).read()
    assert len(text.splitlines()) <= 200
    broken = [link for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
              if "://" not in link and not os.path.exists(os.path.join(ROOT, link))]
    assert broken == []


def test_the_readme_commands_table_lists_every_command():
    text = open(os.path.join(ROOT, "README.md")).read()
    assert [m for m in _gen().command_modules() if f"`python -m {m}`" not in text] == []


def test_the_floor_diagram_draws_each_floor_with_its_nodes():
    diagram = _gen().floor_diagram(((1, "upper", ("a.b", "c.")), (0, "ground", ("a",))))
    assert diagram.splitlines() == ["```text", "floor 1  upper   a.b, c.*", "floor 0  ground  a", "```"]
