"""``lengow-tui plugins info / disable / enable``, editing ``[plugins] disabled`` in place, and the
plugin trace mode (``--trace-plugins`` / ``LENGOW_TUI_TRACE_PLUGINS``)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lengow_tui.cli import app, state
from lengow_tui.config import ConfigError, set_disabled_plugins
from lengow_tui.connector_api import ClientContext
from lengow_tui.plugins import installed_plugins, load_registry, reset_registry_cache

CONFIG = """\
# My lengow-tui config. Do not lose this comment.
[sync]
interval_seconds = 60  # fast

# Plugins I do not want
[plugins]
# nothing yet
disabled = [
    "ghost",  # an old one, uninstalled since
]

[channels.shop]
connector = "sandbox"
seed = 3
"""


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch):
    for var in ("LENGOW_TUI_DISABLE_PLUGINS", "LENGOW_TUI_STRICT_PLUGINS", "LENGOW_TUI_TRACE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    reset_registry_cache()
    yield
    state.config_path = None
    reset_registry_cache()
    logging.getLogger("lengow_tui.plugins.trace").handlers.clear()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- the config edit -------------------------------------------------------------------------------

def test_disable_keeps_comments_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    path.chmod(0o640)
    set_disabled_plugins(path, ["ghost", "sandbox"])
    text = path.read_text(encoding="utf-8")
    assert text == CONFIG.replace('disabled = [\n    "ghost",  # an old one, uninstalled since\n]',
                                  'disabled = ["ghost", "sandbox"]')
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(("before", "after"), [
    ("[sync]\ninterval_seconds = 60\n", "[sync]\ninterval_seconds = 60\n\n[plugins]\ndisabled = [\"acme\"]\n"),
    ("[plugins]\n\n[tui]\nascii = true\n", "[plugins]\ndisabled = [\"acme\"]\n\n[tui]\nascii = true\n"),
    ("[plugins]\ndisabled = []  # none\n", "[plugins]\ndisabled = [\"acme\"]  # none\n"),
])
def test_disabled_is_added_where_it_belongs(tmp_path: Path, before: str, after: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(before, encoding="utf-8")
    set_disabled_plugins(path, ["acme"])
    assert path.read_text(encoding="utf-8") == after


def test_layouts_it_cannot_edit_are_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('plugins = { disabled = [] }\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="by hand"):
        set_disabled_plugins(path, ["acme"])
    assert path.read_text(encoding="utf-8") == 'plugins = { disabled = [] }\n'


def test_a_missing_config_is_created(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    set_disabled_plugins(path, ["acme"])
    assert tomllib.loads(path.read_text(encoding="utf-8"))["plugins"]["disabled"] == ["acme"]


# --- the commands ----------------------------------------------------------------------------------

def test_disable_then_enable_a_plugin(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    code, out, _ = run("-c", str(path), "plugins", "disable", "sandbox")
    assert code == 0 and "disabled plugin sandbox" in out
    assert "# My lengow-tui config. Do not lose this comment." in path.read_text(encoding="utf-8")
    assert tomllib.loads(path.read_text(encoding="utf-8"))["plugins"]["disabled"] == ["ghost", "sandbox"]
    code, out, _ = run("-c", str(path), "plugins", "--json")
    doc = json.loads(out)
    assert "sandbox" in doc["disabled"] and "sandbox" not in {c["name"] for c in doc["connectors"]}
    assert run("-c", str(path), "plugins", "disable", "sandbox")[1].startswith("plugin sandbox is already disabled")
    code, out, _ = run("-c", str(path), "plugins", "info", "sandbox")
    assert code == 0 and out.startswith("plugin sandbox: disabled (by the config")
    code, out, _ = run("-c", str(path), "plugins", "enable", "sandbox")
    assert code == 0 and "enabled plugin sandbox" in out
    assert tomllib.loads(path.read_text(encoding="utf-8"))["plugins"]["disabled"] == ["ghost"]
    assert "sandbox" in {c["name"] for c in json.loads(run("-c", str(path), "plugins", "--json")[1])["connectors"]}
    # A stale name in the list can still be removed, though nothing installed has it.
    code, out, _ = run("-c", str(path), "plugins", "enable", "ghost")
    assert code == 0 and "no plugin called ghost is installed" in out


def test_unknown_names_are_refused_with_the_installed_ones(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    for command in ("disable", "enable", "info"):
        code, _out, err = run("-c", str(path), "plugins", command, "nope")
        assert code == 2, command
        assert "no installed plugin or connector is called 'nope'" in err and "sandbox" in err
    assert path.read_text(encoding="utf-8") == CONFIG


def test_info_shows_the_connector_in_full(tmp_path: Path) -> None:
    state.config_path = None
    code, out, _ = run("-c", str(tmp_path / "none.toml"), "plugins", "info", "mirakl")
    assert code == 0
    assert out.startswith("plugin mirakl: loaded\n  from lengow-tui ")
    assert "entry point mirakl = lengow_tui_mirakl.plugin" in out
    assert "api_key (text, secret, required)" in out and "marketplace fnac_darty" in out
    assert "ship (per order) from waiting_shipment -> shipped" in out or "ship (" in out
    code, out, _ = run("-c", str(tmp_path / "none.toml"), "plugins", "info", "mirakl", "--json")
    doc = json.loads(out)
    assert doc["status"] == "loaded" and doc["first_party"] and doc["failures"] == []
    [connector] = doc["connectors"]
    assert {f["name"]: f["secret"] for f in connector["config_fields"]}["api_key"] is True
    assert any(m["code"] == "fnac_darty" for m in connector["marketplaces"])


def test_disabling_works_without_importing_plugins(tmp_path: Path) -> None:
    # A plugin that crashes the interpreter on import must still be disableable: `disable` reads entry
    # points from metadata only. Simulate with a fake entry point whose module does not exist.
    site = tmp_path / "site"
    info = site / "lengow_tui_fx_crash-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lengow-tui-fx-crash\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[lengow_tui]\nfxcrash = lengow_tui_fx_crash\n")
    (site / "lengow_tui_fx_crash.py").write_text("import os\nos._exit(3)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENGOW_TUI_")}
    env["PYTHONPATH"] = str(site)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    cmd = [sys.executable, "-m", "lengow_tui.cli", "-c", str(config), "plugins"]
    assert subprocess.run(cmd + ["list"], env=env, capture_output=True, timeout=120).returncode == 3
    done = subprocess.run(cmd + ["disable", "fxcrash"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(cmd + ["list"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and "Disabled plugins: fxcrash" in listed.stdout


# --- tracing ---------------------------------------------------------------------------------------

def test_trace_option_logs_hook_calls_on_stderr(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENGOW_TUI_")}
    done = subprocess.run([sys.executable, "-m", "lengow_tui.cli", "-c", str(tmp_path / "none.toml"),
                           "--trace-plugins", "plugins", "list"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0
    assert "trace: hook register_connectors of plugin sandbox (lengow-tui " in done.stderr
    assert "trace:" not in done.stdout
    quiet = subprocess.run([sys.executable, "-m", "lengow_tui.cli", "-c", str(tmp_path / "none.toml"), "plugins"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert "trace:" not in quiet.stderr


def test_trace_env_logs_client_calls_without_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("LENGOW_TUI_TRACE_PLUGINS", "1")
    caplog.set_level(logging.DEBUG, logger="lengow_tui.plugins.trace")
    registry = load_registry(disabled={p.name for p in installed_plugins() if p.name != "sandbox"})
    spec = registry.spec("sandbox")
    client = spec.client_factory(ClientContext(channel="shop", config={"seed": 3, "initial_orders": 20},
                                               http=None, state_dir=tmp_path))

    async def go():
        await client.check()
        return [o async for page in client.fetch_orders(None) for o in page.orders]

    orders = asyncio.run(go())
    assert client.world is not None  # connector-specific attributes still reach the real client
    lines = [r.getMessage() for r in caplog.records if r.name == "lengow_tui.plugins.trace"]
    assert any(line.startswith("connector sandbox, channel shop: check -> ok in ") for line in lines), lines
    assert any("fetch_orders -> done: 1 page(s), 20 order(s)" in line for line in lines), lines
    names = {p.name for o in orders for p in o.parties if p.name}
    ids = {o.order_id for o in orders}
    text = "\n".join(lines)
    assert not [n for n in names if n in text] and not [i for i in ids if i in text]


def test_no_tracing_by_default(tmp_path: Path) -> None:
    spec = load_registry().spec("sandbox")
    client = spec.client_factory(ClientContext(channel="shop", config={}, http=None, state_dir=tmp_path))
    assert type(client).__name__ == "SandboxClient"
