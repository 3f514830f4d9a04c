"""The plugin loader (``lengow_tui.plugins``) and ``lengow-tui plugins``.

Entry-point tests use real distributions: a temporary site directory holding ``*.dist-info`` folders
(METADATA + ``entry_points.txt``) and the plugin modules from ``tests/fixtures/plugins``. Nothing in
``importlib`` is patched; the directory is put on ``PYTHONPATH`` (subprocess) or ``sys.path``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lengow_tui.connector_api import (
    ActionKind,
    ActionSpec,
    ConnectorSpec,
    MarketplaceDeclaration,
    Status,
    StatusMap,
    hookimpl,
)
from lengow_tui.plugins import (
    LoadedConnector,
    PluginLoadError,
    Registry,
    UnknownConnectorError,
    get_registry,
    installed_plugins,
    load_registry,
    reset_registry_cache,
)
from lengow_tui.plugin_report import registry_to_dict

FIXTURES = Path(__file__).parent / "fixtures" / "plugins"

# distribution name -> (entry point name, entry point value, module file)
FAKE_DISTRIBUTIONS: dict[str, tuple[str, str, str]] = {
    "lengow-tui-fx-boom": ("fxboom", "lengow_tui_fx_boom", "lengow_tui_fx_boom.py"),
    "lengow-tui-fx-exit": ("fxexit", "lengow_tui_fx_exit", "lengow_tui_fx_exit.py"),
    "lengow-tui-fx-badspec": ("fxbadspec", "lengow_tui_fx_badspec", "lengow_tui_fx_badspec.py"),
    # this entry point names an object, not a module
    "lengow-tui-fx-hookraise": (
        "fxhookraise", "lengow_tui_fx_hookraise:plugin", "lengow_tui_fx_hookraise.py"
    ),
    "lengow-tui-fx-acme": ("acme", "lengow_tui_fx_acme", "lengow_tui_fx_acme.py"),
    "lengow-tui-fx-impostor": ("fximpostor", "lengow_tui_fx_impostor", "lengow_tui_fx_impostor.py"),
}
FAKE_MODULES = [value.split(":")[0] for _, value, _ in FAKE_DISTRIBUTIONS.values()]
# Third-party plugins really installed here count too, e.g. the connector template that CI installs
# (pip install -e examples/connector-template).
THIRD_PARTY_PLUGINS = {ep for ep, _, _ in FAKE_DISTRIBUTIONS.values()} | {
    p.name for p in installed_plugins() if not p.first_party}
FIRST_PARTY_PLUGINS = {"sandbox", "mirakl", "lengow"}  # shipped in this distribution, same entry-point group


def _sandbox_importable() -> bool:
    """Is the first-party sandbox connector's module there yet? (It is written in parallel.)"""
    code = "import lengow_tui_sandbox.plugin"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


SANDBOX_IMPORTABLE = _sandbox_importable()


def _write_distribution(site: Path, dist: str, ep_name: str, ep_value: str, module_file: str) -> None:
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[lengow_tui]\n{ep_name} = {ep_value}\n", encoding="utf-8")
    (info / "top_level.txt").write_text(ep_value.split(":")[0] + "\n", encoding="utf-8")
    shutil.copy(FIXTURES / module_file, site / module_file)


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    for dist, (ep_name, ep_value, module_file) in FAKE_DISTRIBUTIONS.items():
        _write_distribution(site, dist, ep_name, ep_value, module_file)
    return site


@pytest.fixture
def on_sys_path(site_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """The fake distributions, seen by in-process ``importlib.metadata``; fixture modules forgotten after."""
    monkeypatch.syspath_prepend(str(site_dir))
    monkeypatch.delenv("LENGOW_TUI_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("LENGOW_TUI_STRICT_PLUGINS", raising=False)
    yield site_dir
    for name in FAKE_MODULES:
        sys.modules.pop(name, None)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("LENGOW_TUI_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("LENGOW_TUI_STRICT_PLUGINS", raising=False)
    reset_registry_cache()
    yield
    reset_registry_cache()


def _run_cli(
    *args: str,
    site: Path | None,
    extra_env: dict[str, str] | None = None,
    pythonpath: list[Path] | None = None,
    options: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENGOW_TUI_")}
    env["XDG_CONFIG_HOME"] = str(Path(site or ".") / "no-config-here")  # never read the user's config file
    paths = [str(p) for p in (pythonpath or [])] + ([str(site)] if site else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "lengow_tui.cli", *options, "plugins", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )


def _failures_by_plugin(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for failure in doc["failed"]:
        out.setdefault(failure["plugin"], []).append(failure)
    return out


# --------------------------------------------------------------------------------------------------
# Helpers for in-process plugins


def _declaration(code: str = "mk_fr") -> MarketplaceDeclaration:
    return MarketplaceDeclaration(
        code=code,
        name="Market FR",
        status_map=StatusMap(order={"NEW": Status.NEW, "TO_SHIP": Status.WAITING_SHIPMENT}),
        actions=(ActionSpec(ActionKind.SHIP, allowed_from=frozenset({Status.WAITING_SHIPMENT}),
                            result_status=Status.SHIPPED),),
    )


def _refusing_factory(ctx: Any) -> Any:
    raise AssertionError("client_factory was called while loading or listing plugins")


def _spec(name: str, **kw: Any) -> ConnectorSpec:
    kw.setdefault("title", name.title())
    kw.setdefault("client_factory", _refusing_factory)
    kw.setdefault("marketplaces", (_declaration(),))
    return ConnectorSpec(name=name, **kw)


class Returns:
    """An in-process plugin whose hook returns ``value``."""

    def __init__(self, value: Any) -> None:
        self.value = value

    @hookimpl
    def register_connectors(self) -> Any:
        return self.value


class Raises:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    @hookimpl
    def register_connectors(self) -> Any:
        raise self.exc


# --------------------------------------------------------------------------------------------------
# The real command, real entry points, in a subprocess


def test_plugins_json_reports_each_bad_plugin_and_keeps_the_good_ones(site_dir: Path) -> None:
    result = _run_cli("--json", site=site_dir)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert set(doc) == {"connectors", "failed", "disabled"}
    failed = _failures_by_plugin(doc)
    connectors = {c["name"]: c for c in doc["connectors"]}

    [boom] = failed["fxboom"]
    assert boom["stage"] == "import"
    assert boom["error"] == "RuntimeError: boom at import"
    assert (boom["distribution"], boom["version"]) == ("lengow-tui-fx-boom", "1.2.3")

    [exited] = failed["fxexit"]
    assert exited["stage"] == "import"
    assert "SystemExit" in exited["error"] and "plugin exited at import" in exited["error"]

    [bad] = failed["fxbadspec"]
    assert bad["stage"] == "validation"
    assert bad["connector"] == "badspec"
    assert "'shipped_ok'" in bad["error"] and "not one of the 16 common statuses" in bad["error"]
    assert "action ship: allowed from no status" in bad["error"]
    assert "badspec" not in connectors

    [hook] = failed["fxhookraise"]
    assert hook["stage"] == "hook"
    assert "ValueError: hook exploded while building specs" in hook["error"]

    # the valid third-party connector is listed, complete
    assert "acme" not in failed
    acme = connectors["acme"]
    assert (acme["plugin"], acme["distribution"], acme["version"]) == ("acme", "lengow-tui-fx-acme", "1.2.3")
    assert acme["first_party"] is False
    assert acme["api_version"] == 1
    token = next(f for f in acme["config_fields"] if f["name"] == "api_token")
    assert token["secret"] is True and token["required"] is True
    [mk] = acme["marketplaces"]
    assert mk["code"] == "acme_fr" and mk["min_poll_interval_seconds"] == 120
    assert mk["status_map"]["order"]["SENT"] == "shipped"
    assert mk["status_map"]["lines"]["L_REFUNDED"] == "refunded"
    assert mk["status_map"]["derive_from_lines"] is True
    ship = next(a for a in mk["actions"] if a["kind"] == "ship")
    assert ship["allowed_from"] == ["accepted", "waiting_shipment"]  # in the order of the 16 statuses
    assert ship["result_status"] == "shipped" and ship["per_line"] is False
    tracking = next(a for a in ship["arguments"] if a["name"] == "tracking_number")
    assert tracking["required"] is False
    assert tracking["required_when"] == [{"on": "order", "name": "delivery_type", "values": ["PARCEL"],
                                          "description": "the order's delivery type is 'PARCEL'"}]
    carrier = next(a for a in ship["arguments"] if a["name"] == "carrier")
    assert len(carrier["valid_values"]) == 21 and carrier["accept_free_values"] is False
    refund = next(a for a in mk["actions"] if a["kind"] == "refund")
    assert refund["per_line"] is True and refund["partial"] is True
    assert mk["documents"] == [
        {"kind": "invoice", "label": "Invoice", "available_from": ["shipped", "closed"]}
    ]

    # the impostor can never replace the built-in sandbox
    [impostor] = failed["fximpostor"]
    assert impostor["stage"] == "conflict"
    assert impostor["connector"] == "sandbox"
    assert "lengow-tui-fx-impostor" in impostor["error"] and "lengow-tui" in impostor["error"]
    if SANDBOX_IMPORTABLE:
        sandbox = connectors["sandbox"]
        assert sandbox["distribution"] == "lengow-tui" and sandbox["first_party"] is True
        assert sandbox["plugin"] == "sandbox"
        assert "sandbox" not in failed
    else:  # the first-party sandbox is being written in parallel: then it must be reported, not hidden
        assert "sandbox" not in connectors
        assert failed["sandbox"][0]["stage"] == "import"

    assert doc["disabled"] == []


def test_plugins_json_is_stable(site_dir: Path) -> None:
    first = _run_cli("--json", site=site_dir)
    second = _run_cli("list", "--json", site=site_dir)
    third = _run_cli("--json", "list", site=site_dir)
    assert first.returncode == second.returncode == third.returncode == 0
    assert first.stdout == second.stdout == third.stdout


def test_plugins_text_mentions_connectors_and_failures(site_dir: Path) -> None:
    result = _run_cli(site=site_dir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "acme - Acme Marketplace" in out
    assert "lengow-tui-fx-acme 1.2.3" in out
    assert "api_token (text, secret, required)" in out
    assert "marketplace acme_fr - Acme France" in out
    assert "SENT -> shipped" in out
    assert "order status derived from its lines' statuses" in out
    assert "ship (per order) from accepted, waiting_shipment -> shipped" in out
    assert "refund (per line, partial)" in out
    assert "tracking_number (text), required when the order's delivery type is 'PARCEL'" in out
    assert "carrier_name (text), required when carrier is 'other'" in out
    assert "(+13 more)" in out  # 21 carriers, 8 shown
    assert "default carrier01" in out
    assert "invoice (Invoice) from shipped, closed" in out
    assert "Failed plugins:" in out
    for plugin, stage in [("fxboom", "import"), ("fxexit", "import"), ("fxbadspec", "validation"),
                          ("fxhookraise", "hook"), ("fximpostor", "conflict")]:
        assert f"  {plugin} (lengow-tui-fx-" in out and f"- {stage}:" in out
    assert "RuntimeError: boom at import" in out
    assert "'shipped_ok'" in out
    if SANDBOX_IMPORTABLE:
        assert "\nsandbox - " in out


def test_disable_env_drops_third_party_plugins_only(site_dir: Path) -> None:
    result = _run_cli("--json", site=site_dir, extra_env={"LENGOW_TUI_DISABLE_PLUGINS": "1"})
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc["disabled"]) == THIRD_PARTY_PLUGINS
    assert {c["name"] for c in doc["connectors"]} <= FIRST_PARTY_PLUGINS
    plugins_seen = {c["plugin"] for c in doc["connectors"]} | {f["plugin"] for f in doc["failed"]}
    assert plugins_seen == FIRST_PARTY_PLUGINS  # the first-party plugins were still loaded (or reported)


def test_config_disabled_plugins_are_not_loaded(site_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[plugins]\ndisabled = ["acme", "fxboom"]\n', encoding="utf-8")
    result = _run_cli("--json", site=site_dir, options=("--config", str(config)))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["disabled"] == ["acme", "fxboom"]
    assert "acme" not in {c["name"] for c in doc["connectors"]}
    assert "fxboom" not in {f["plugin"] for f in doc["failed"]}


def test_a_broken_config_does_not_hide_plugins(site_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[plugins\n", encoding="utf-8")
    result = _run_cli("--json", site=site_dir, options=("--config", str(config)))
    assert result.returncode == 0, result.stderr
    assert "warning: config not used" in result.stderr
    assert "acme" in {c["name"] for c in json.loads(result.stdout)["connectors"]}


def test_listing_makes_no_network_call_in_a_real_process(site_dir: Path, tmp_path: Path) -> None:
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(
        "import socket\n"
        "def _no_network(*a, **k):\n"
        "    raise SystemExit('NETWORK CALL DURING plugins LISTING')\n"
        "socket.socket.connect = _no_network\n"
        "socket.socket.connect_ex = _no_network\n"
        "socket.create_connection = _no_network\n"
        "socket.getaddrinfo = _no_network\n",
        encoding="utf-8",
    )
    for args in (("--json",), ()):
        result = _run_cli(*args, site=site_dir, pythonpath=[guard])
        assert result.returncode == 0, result.stderr
        assert "NETWORK CALL" not in result.stdout + result.stderr


def test_strict_mode_reraises(site_dir: Path) -> None:
    result = _run_cli("--json", site=site_dir, extra_env={"LENGOW_TUI_STRICT_PLUGINS": "1"})
    assert result.returncode != 0
    assert "RuntimeError: boom at import" in result.stderr  # the first failure (sorted by name), raised


# --------------------------------------------------------------------------------------------------
# load_registry, in process


def test_extra_plugins_without_entry_points() -> None:
    spec = _spec("alpha")
    registry = load_registry(extra_plugins=[("alpha_plugin", Returns([spec]))], use_entry_points=False)
    assert registry.failures == []
    assert registry.disabled == []
    assert list(registry.connectors) == ["alpha"]
    loaded = registry.connectors["alpha"]
    assert loaded == LoadedConnector(spec, "alpha_plugin", "unknown", "unknown")
    assert registry.spec("alpha") is spec
    assert registry.marketplace("alpha", "mk_fr") is spec.marketplaces[0]
    assert registry.marketplace("alpha", "nope") is None
    assert registry.marketplace("nope", "mk_fr") is None


def test_one_plugin_returning_several_connectors_and_a_module_plugin() -> None:
    import types

    module = types.ModuleType("inline_plugin")

    @hookimpl
    def register_connectors() -> list[ConnectorSpec]:
        return [_spec("zeta"), _spec("beta")]

    module.register_connectors = register_connectors  # type: ignore[attr-defined]
    registry = load_registry(extra_plugins=[("inline", module, "inline-dist", "2.0")], use_entry_points=False)
    assert list(registry.connectors) == ["beta", "zeta"]  # sorted by name
    assert registry.connectors["zeta"].distribution == "inline-dist"
    assert registry.connectors["zeta"].version == "2.0"


def test_unknown_connector_error_is_clear() -> None:
    registry = load_registry(
        extra_plugins=[("alpha", Returns([_spec("alpha")])), ("broken", Raises(RuntimeError("nope")))],
        use_entry_points=False,
    )
    with pytest.raises(UnknownConnectorError) as info:
        registry.spec("gamma")
    assert info.value.name == "gamma" and info.value.known == ("alpha",)
    assert str(info.value) == "unknown connector 'gamma' (installed connectors: alpha)"
    with pytest.raises(UnknownConnectorError, match=r"'broken'.*failed at hook.*RuntimeError: nope"):
        registry.spec("broken")
    with pytest.raises(UnknownConnectorError, match="no connector is installed"):
        Registry().spec("alpha")
    assert isinstance(info.value, LookupError)


def test_a_raising_hook_hides_no_other_plugin() -> None:
    registry = load_registry(
        extra_plugins=[
            ("first", Raises(RuntimeError("first is broken"))),
            ("second", Returns([_spec("second")])),
            ("third", Raises(SystemExit(2))),
            ("fourth", Returns([_spec("fourth")])),
        ],
        use_entry_points=False,
    )
    assert list(registry.connectors) == ["fourth", "second"]
    stages = {(f.plugin, f.stage) for f in registry.failures}
    assert stages == {("first", "hook"), ("third", "hook")}
    first = next(f for f in registry.failures if f.plugin == "first")
    assert first.error == "register_connectors raised RuntimeError: first is broken"


def test_keyboard_interrupt_is_never_swallowed() -> None:
    with pytest.raises(KeyboardInterrupt):
        load_registry(extra_plugins=[("ki", Raises(KeyboardInterrupt()))], use_entry_points=False)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            None,
            "register_connectors returned NoneType (missing `return [...]`?); "
            "expected a list of ConnectorSpec",
        ),
        ({"name": "x"}, "register_connectors returned dict; expected a list of ConnectorSpec"),
        (_spec("single"), "register_connectors returned a single ConnectorSpec; return a list of them"),
    ],
)
def test_hook_results_that_are_not_lists_of_specs(value: Any, message: str) -> None:
    registry = load_registry(extra_plugins=[("odd", Returns(value))], use_entry_points=False)
    assert registry.connectors == {}
    [failure] = registry.failures
    assert (failure.plugin, failure.stage, failure.error) == ("odd", "validation", message)


def test_a_bad_item_does_not_drop_the_good_ones_of_the_same_plugin() -> None:
    registry = load_registry(
        extra_plugins=[("mixed", Returns(["oops", _spec("good")]))], use_entry_points=False
    )
    assert list(registry.connectors) == ["good"]
    [failure] = registry.failures
    assert failure.stage == "validation"
    assert failure.error == "register_connectors returned str at position 0; expected ConnectorSpec"


def test_invalid_spec_is_reported_with_every_problem() -> None:
    bad = _spec(
        "Bad Name",
        api_version=99,
        marketplaces=(
            MarketplaceDeclaration(
                code="bad_fr",
                name="Bad",
                status_map=StatusMap(order={"Shipped": "shipped_ok"}),  # type: ignore[dict-item]
                actions=(ActionSpec(ActionKind.SHIP, allowed_from=frozenset()),),
            ),
        ),
    )
    registry = load_registry(extra_plugins=[("bad", Returns([bad, _spec("fine")]))], use_entry_points=False)
    assert list(registry.connectors) == ["fine"]
    [failure] = registry.failures
    assert failure.stage == "validation" and failure.connector == "Bad Name"
    problems = failure.error.split("; ")
    assert any("name must be a lowercase slug" in p for p in problems)
    assert any("api_version 99 is not supported" in p for p in problems)
    assert any("'shipped_ok', which is not one of the 16 common statuses" in p for p in problems)
    assert any("allowed from no status" in p for p in problems)


def test_hook_signature_and_misspelled_hooks_are_hook_failures() -> None:
    class WrongArgs:
        @hookimpl
        def register_connectors(self, config):  # the spec takes no argument
            return []

    class Misspelled:
        @hookimpl
        def register_conectors(self):
            return [_spec("typo")]

    class NoHooks:
        def register_connectors(self):  # no @hookimpl
            return [_spec("unmarked")]

    registry = load_registry(
        extra_plugins=[("wrong", WrongArgs()), ("typo", Misspelled()), ("nohooks", NoHooks()),
                       ("ok", Returns([_spec("ok")]))],
        use_entry_points=False,
    )
    assert list(registry.connectors) == ["ok"]
    by_plugin = {f.plugin: f for f in registry.failures}
    assert set(by_plugin) == {"wrong", "typo", "nohooks"}
    assert all(f.stage == "hook" for f in by_plugin.values())
    assert "PluginValidationError" in by_plugin["wrong"].error and "config" in by_plugin["wrong"].error
    assert "register_conectors" in by_plugin["typo"].error
    assert "implements no lengow_tui hook" in by_plugin["nohooks"].error


def test_name_clash_between_third_party_plugins_disables_both() -> None:
    registry = load_registry(
        extra_plugins=[
            ("one", Returns([_spec("dup")]), "dist-one", "1.0"),
            ("two", Returns([_spec("dup"), _spec("unique")]), "dist-two", "2.0"),
        ],
        use_entry_points=False,
    )
    assert list(registry.connectors) == ["unique"]
    conflicts = [f for f in registry.failures if f.stage == "conflict"]
    assert {f.plugin for f in conflicts} == {"one", "two"}
    for f in conflicts:
        assert f.connector == "dup"
        assert "dist-one 1.0" in f.error and "dist-two 2.0" in f.error


def test_first_party_connector_wins_a_name_clash() -> None:
    builtin = _spec("sandbox", title="Built-in")
    registry = load_registry(
        extra_plugins=[
            ("impostor", Returns([_spec("sandbox", title="Impostor")]), "evil-dist", "6.6.6"),
            ("sandbox", Returns([builtin]), "lengow-tui", "0.1.0"),
        ],
        use_entry_points=False,
    )
    assert registry.spec("sandbox") is builtin
    assert registry.connectors["sandbox"].first_party
    [conflict] = registry.failures
    assert (conflict.plugin, conflict.stage, conflict.connector) == ("impostor", "conflict", "sandbox")
    assert "evil-dist 6.6.6" in conflict.error and "lengow-tui 0.1.0" in conflict.error


def test_third_party_cannot_take_the_name_of_a_broken_first_party_plugin() -> None:
    registry = load_registry(
        extra_plugins=[
            ("builtin", Raises(ImportError("half written")), "lengow_tui", "0.1.0"),  # normalized name
            ("impostor", Returns([_spec("builtin")]), "evil-dist", "6.6.6"),
        ],
        use_entry_points=False,
    )
    assert registry.connectors == {}
    assert {(f.plugin, f.stage) for f in registry.failures} == {("builtin", "hook"), ("impostor", "conflict")}


def test_same_connector_twice_from_one_plugin() -> None:
    registry = load_registry(
        extra_plugins=[("twice", Returns([_spec("x"), _spec("x")]))], use_entry_points=False
    )
    assert registry.connectors == {}
    [failure] = registry.failures
    assert failure.stage == "conflict" and "more than once" in failure.error


def test_disabled_names_are_skipped() -> None:
    registry = load_registry(
        disabled={"beta"},
        extra_plugins=[("alpha", Returns([_spec("alpha")])), ("beta", Raises(RuntimeError("never called")))],
        use_entry_points=False,
    )
    assert list(registry.connectors) == ["alpha"]
    assert registry.failures == []
    assert registry.disabled == ["beta"]


def test_strict_mode_reraises_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENGOW_TUI_STRICT_PLUGINS", "1")
    with pytest.raises(RuntimeError, match="boom"):
        load_registry(extra_plugins=[("x", Raises(RuntimeError("boom")))], use_entry_points=False)
    with pytest.raises(PluginLoadError, match="validation"):
        load_registry(extra_plugins=[("x", Returns(None))], use_entry_points=False)


def test_entry_points_in_process(on_sys_path: Path) -> None:
    registry = load_registry()
    assert "acme" in registry.connectors
    assert registry.connectors["acme"].distribution == "lengow-tui-fx-acme"
    stages = {f.plugin: f.stage for f in registry.failures}
    assert stages["fxboom"] == "import" and stages["fxbadspec"] == "validation"
    assert stages["fxhookraise"] == "hook" and stages["fximpostor"] == "conflict"
    # disabling by entry-point name
    registry = load_registry(disabled=["acme", "fxboom"])
    assert "acme" not in registry.connectors
    assert registry.disabled == ["acme", "fxboom"]
    assert "fxboom" not in {f.plugin for f in registry.failures}


def test_disable_env_keeps_first_party_in_process(on_sys_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENGOW_TUI_DISABLE_PLUGINS", "1")
    registry = load_registry()
    assert set(registry.disabled) == THIRD_PARTY_PLUGINS
    seen = {c.plugin for c in registry.connectors.values()} | {f.plugin for f in registry.failures}
    assert seen == FIRST_PARTY_PLUGINS
    if SANDBOX_IMPORTABLE:
        assert registry.connectors["sandbox"].first_party
    # a comma-separated list disables just those names
    monkeypatch.setenv("LENGOW_TUI_DISABLE_PLUGINS", "acme, fxboom")
    registry = load_registry()
    assert registry.disabled == ["acme", "fxboom"]
    # in-process extra plugins are not affected by the variable: the caller asked for them
    monkeypatch.setenv("LENGOW_TUI_DISABLE_PLUGINS", "1")
    registry = load_registry(extra_plugins=[("mine", Returns([_spec("mine")]))], use_entry_points=False)
    assert list(registry.connectors) == ["mine"]


def test_listing_never_calls_client_factory_nor_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    from lengow_tui.cli.plugins_cmd import render_json, render_text

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("network call while listing plugins")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)

    calls: list[Any] = []

    def factory(ctx: Any) -> Any:
        calls.append(ctx)
        raise AssertionError("client_factory called")

    registry = load_registry(
        extra_plugins=[("guarded", Returns([_spec("guarded", client_factory=factory)]))],
        use_entry_points=False,
    )
    assert registry.failures == []
    text = render_text(registry)
    doc = json.loads(render_json(registry))
    assert "guarded - Guarded" in text
    assert doc["connectors"][0]["name"] == "guarded"
    assert calls == []


def test_registry_cache() -> None:
    first = get_registry()
    assert get_registry() is first
    reset_registry_cache()
    assert get_registry() is not first


def test_secret_defaults_are_masked() -> None:
    from lengow_tui.connector_api import ConfigField

    spec = _spec("masked", config_fields=(ConfigField("api_token", "Token", secret=True, default="s3cr3t"),))
    registry = load_registry(extra_plugins=[("masked", Returns([spec]))], use_entry_points=False)
    dumped = json.dumps(registry_to_dict(registry))
    assert "s3cr3t" not in dumped and '"default": "***"' in dumped


def test_cli_module_imports_stay_light() -> None:
    """``plugins_cmd`` is imported by every ``lengow-tui`` run: at module level only typer and the CLI app."""
    import ast

    import lengow_tui.cli.plugins_cmd as module

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert imported <= {"__future__", "json", "typing", "typer", "lengow_tui.cli"}


@pytest.mark.skipif(not SANDBOX_IMPORTABLE, reason="lengow_tui_sandbox.plugin is not importable yet")
def test_sandbox_connector_loads_cleanly() -> None:
    registry = load_registry()
    assert "sandbox" not in {f.plugin for f in registry.failures}, registry.failures
    loaded = registry.connectors["sandbox"]
    assert loaded.first_party and loaded.plugin == "sandbox"
