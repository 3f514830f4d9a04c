"""The connector template (examples/connector-template) passes the conformance kit.

Install-free: the template's source folder is put on ``sys.path`` and its own kit test class is reused,
so this runs whether or not the template is pip-installed. Entry-point discovery needs the installed
package (``pip install -e examples/connector-template``, done by .ci/run) and is checked in a
subprocess, through ``lengow-tui plugins``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[2] / "examples" / "connector-template"
if str(TEMPLATE) not in sys.path:
    sys.path.insert(0, str(TEMPLATE))


def _installed() -> bool:
    try:
        distribution("lengow-tui-template")
    except PackageNotFoundError:
        return False
    return True


INSTALLED = _installed()
NOT_INSTALLED = "the template is not installed here: pip install -e examples/connector-template"


def _template_kit_class() -> type:
    spec = importlib.util.spec_from_file_location("template_test_conformance", TEMPLATE / "tests" / "test_conformance.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TestMarcheExemple


class TestTemplateConformance(_template_kit_class()):  # type: ignore[misc]
    skip_reasons = {} if INSTALLED else {"entry_point": NOT_INSTALLED + " (checked by .ci/run, which installs it)"}


@pytest.mark.skipif(not INSTALLED, reason=NOT_INSTALLED)
def test_installed_template_is_listed_by_lengow_tui_plugins(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENGOW_TUI_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # never the user's config (it could disable plugins)
    done = subprocess.run([sys.executable, "-m", "lengow_tui.cli", "plugins", "--json"], capture_output=True,
                          text=True, env=env, timeout=120, cwd=tmp_path)  # cwd: not the source folder
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    template = next(c for c in doc["connectors"] if c["name"] == "marche_exemple")
    assert template["distribution"] == "lengow-tui-template" and not template["first_party"]
    assert [f["name"] for f in template["config_fields"] if f["secret"]] == ["api_key"]
    assert not [f for f in doc["failed"] if f["plugin"] == "marche_exemple"]
    # And the switch that turns every third-party plugin off does turn it off.
    env["LENGOW_TUI_DISABLE_PLUGINS"] = "1"
    off = json.loads(subprocess.run([sys.executable, "-m", "lengow_tui.cli", "plugins", "--json"],
                                    capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path).stdout)
    assert "marche_exemple" not in {c["name"] for c in off["connectors"]} and "marche_exemple" in off["disabled"]
