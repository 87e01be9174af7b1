"""The documentation can be acted on: every Python snippet in README.md and docs/ runs as written, and
every relative link in the Markdown files points at a file (and heading) that exists.

A snippet that needs data or a finished training run must be shown as ```console or ```bash instead,
or live as a file under examples/ that a test runs.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_it import MarkdownIt  # comes with Keras (keras -> rich -> markdown-it-py)

ROOT = Path(__file__).resolve().parents[1]
SNIPPET_FILES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
LINKED_FILES = sorted({*SNIPPET_FILES, *ROOT.glob("*.md"), *(ROOT / "saved_models").glob("*/README.md")})
PYTHON = {"python", "py", "python3"}
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:, ...


def _tokens(path):
    return MarkdownIt("commonmark").enable("table").parse(path.read_text(encoding="utf-8"))


def _name(path):
    return path.relative_to(ROOT).as_posix()


def _snippets():
    for path in SNIPPET_FILES:
        for token in _tokens(path):
            if token.type == "fence" and token.info.strip().split(" ")[0].lower() in PYTHON:
                yield pytest.param(token.content, id=f"{_name(path)}:{token.map[0] + 1}")


def _slug(text, seen):
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens, and
    ``-1``, ``-2``, ... for repeats."""
    slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return f"{slug}-{count}" if count else slug


def _anchors(path):
    tokens, seen = _tokens(path), {}
    return {_slug(tokens[i + 1].content, seen) for i, token in enumerate(tokens) if token.type == "heading_open"}


def _links(path):
    for token in _tokens(path):
        for child in token.children or ():
            target = child.attrs.get("href") if child.type == "link_open" else child.attrs.get("src")
            if child.type in ("link_open", "image") and target and not EXTERNAL.match(target):
                yield token.map[0] + 1, target


def _broken_links(path):
    for line, target in _links(path):
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            yield f"{_name(path)}:{line}: {target} (no such file)"
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            yield f"{_name(path)}:{line}: {target} (no heading #{anchor} in {linked.name})"


@pytest.mark.parametrize("code", list(_snippets()))
def test_python_snippet_runs_as_written(code):
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))  # this checkout's zoo
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": path}
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]


@pytest.mark.parametrize("path", LINKED_FILES, ids=_name)
def test_relative_links_resolve(path):
    assert list(_broken_links(path)) == []


def test_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "a.md").write_text("# Title\n\n## Two words\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](a.md#two-words) [gone](missing.md) [bad](a.md#nowhere) ![img](a.md) [web](https://x.org/y)\n")
    assert list(_broken_links(page)) == [
        "page.md:1: missing.md (no such file)",
        "page.md:1: a.md#nowhere (no heading #nowhere in a.md)",
    ]


def test_snippets_are_found_in_python_fences_only(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text("```python\nprint(1)\n```\n\n```bash\nzoo --help\n```\n\n```console\n$ ls\n```\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "SNIPPET_FILES", [page])
    assert [p.values[0] for p in _snippets()] == ["print(1)\n"]
