"""docs/connector-guide.md stays true, and every public name of the connector API is documented.

Code blocks of the guide that start with ``# file: PATH`` must be verbatim excerpts of that file (the
template connector, itself run through the conformance kit by tests/connectors/test_kit_template.py);
the other Python blocks are executed.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path

import pytest

import lengow_tui.connector_api as api

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "connector-guide.md"
API_DOC = ROOT / "docs" / "connector-api.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[str, str]]:
    return [(lang, body) for lang, body in BLOCK.findall(GUIDE.read_text(encoding="utf-8"))]


def _excerpts() -> list[tuple[str, str]]:
    found = []
    for _lang, body in _blocks():
        first, _, rest = body.partition("\n")
        if first.startswith("# file: "):
            found.append((first.removeprefix("# file: ").strip(), rest))
    return found


def _runnable() -> list[str]:
    return [body for lang, body in _blocks() if lang == "python" and not body.startswith("# file: ")]


def test_the_guide_has_excerpts_and_runnable_examples() -> None:
    files = {path for path, _ in _excerpts()}
    assert {"examples/connector-template/pyproject.toml", "examples/connector-template/lengow_tui_template/plugin.py",
            "examples/connector-template/lengow_tui_template/declarations.py",
            "examples/connector-template/lengow_tui_template/client.py",
            "examples/connector-template/tests/test_conformance.py"} <= files
    assert len(_runnable()) >= 2


@pytest.mark.parametrize(("path", "excerpt"), _excerpts(), ids=lambda v: v if "/" in str(v) else None)
def test_excerpts_are_the_template_files(path: str, excerpt: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    assert excerpt.strip("\n") in text, (
        f"the guide's excerpt of {path} no longer matches the file: update docs/connector-guide.md")


@pytest.mark.parametrize("code", _runnable())
def test_runnable_examples_run(code: str) -> None:
    exec(compile(textwrap.dedent(code), str(GUIDE), "exec"), {"__name__": "guide_example"})


def _documented(obj: object) -> bool:
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    return bool(doc and doc.strip())


def test_every_public_name_has_a_docstring() -> None:
    missing = []
    for name in api.__all__:
        obj = getattr(api, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            if not _documented(obj):
                missing.append(name)
        if inspect.isclass(obj) and name in ("MarketplaceClient", "ActionResult", "ConnectorSpec"):
            for attr, member in vars(obj).items():
                func = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
                if attr.startswith("_") or not (inspect.isfunction(func) or isinstance(func, property)):
                    continue
                if not ((func.fget if isinstance(func, property) else func).__doc__ or "").strip():
                    missing.append(f"{name}.{attr}")
    # Constants and markers cannot carry their own docstring: the docs must explain them.
    docs = GUIDE.read_text(encoding="utf-8") + API_DOC.read_text(encoding="utf-8")
    for name in ("API_VERSION", "SUPPORTED_API_VERSIONS", "ENTRY_POINT_GROUP", "hookimpl", "hookspec"):
        if name not in docs and name != "ENTRY_POINT_GROUP":
            missing.append(f"{name} (not explained in the docs)")
    assert not missing, f"public names without documentation: {', '.join(missing)}"


def test_every_public_name_appears_in_the_docs() -> None:
    docs = GUIDE.read_text(encoding="utf-8") + API_DOC.read_text(encoding="utf-8")
    absent = [name for name in api.__all__ if not re.search(rf"\b{re.escape(name)}\b", docs)]
    assert not absent, f"not mentioned in docs/connector-guide.md or docs/connector-api.md: {', '.join(absent)}"
