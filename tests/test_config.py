"""The config file: messages naming file, line and key; secrets; defaults; `config init` and `check`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from lengow_tui.cli import app, state
from lengow_tui.config import (
    AppConfig,
    AutoAcceptRules,
    ChannelConfig,
    ConfigError,
    default_config_path,
    default_database_url,
    demo_config,
    init_config_text,
    load_config,
    load_config_or_exit,
    render_config,
    write_config,
)
from lengow_tui.connector_api import ConfigField, ConnectorSpec

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cr3t-VALUE-never-shown"
OTHER_SECRET = "other-S3CRET-never-shown"


def _factory(context):  # pragma: no cover - never called by these tests
    raise AssertionError("no client is built while loading a config")


FAKESHOP = ConnectorSpec(
    name="fakeshop",
    title="Fake shop",
    client_factory=_factory,
    config_fields=(
        ConfigField("api_key", "API key", secret=True, required=True),
        ConfigField("shop_id", "Shop id", type="int", required=True),
        ConfigField("base_url", "API URL", type="url", default="https://api.fakeshop.test"),
        ConfigField("verbose", "Verbose", type="bool", default=False),
        ConfigField("cache_dir", "Cache", type="path"),
    ),
    dynamic_marketplaces=True,
)
SANDBOX = ConnectorSpec(
    name="sandbox",
    title="Sandbox",
    client_factory=_factory,
    config_fields=(ConfigField("seed", "Seed", type="int", default=42),),
    dynamic_marketplaces=True,
)
CONNECTORS = {"fakeshop": FAKESHOP, "sandbox": SANDBOX}


def write(tmp_path: Path, text: str, name: str = "config.toml", mode: int = 0o600) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def error_of(path: Path, **kwargs) -> ConfigError:
    kwargs.setdefault("environ", {})
    with pytest.raises(ConfigError) as info:
        load_config(path, **kwargs)
    return info.value


GOOD = f"""\
[sync]
interval_seconds = 60

[channels.shop]
connector = "fakeshop"
api_key = "{SECRET}"
shop_id = 7
cache_dir = "~/cache"

[channels.other]
connector = "fakeshop"
enabled = false
api_key = "{OTHER_SECRET}"
shop_id = 8
"""


# ----------------------------------------------------------------------------------------- valid files


def test_valid_file_typed_settings_and_defaults(tmp_path):
    config = load_config(write(tmp_path, GOOD), connectors=CONNECTORS, environ={})
    assert config.sync_interval_seconds == 60
    assert config.retention_days == 183
    shop = config.channel("shop")
    assert shop.settings == {
        "api_key": SECRET,
        "shop_id": 7,
        "base_url": "https://api.fakeshop.test",
        "verbose": False,
        "cache_dir": Path("~/cache").expanduser(),
    }
    assert shop.enabled and not config.channel("other").enabled
    assert shop.retention_days == 183 and shop.auto_accept == AutoAcceptRules(enabled=False)
    assert not shop.auto_accept and shop.prefetch_documents is False
    with pytest.raises(KeyError):
        config.channel("nope")


def test_without_connectors_settings_are_kept_as_given(tmp_path):
    config = load_config(write(tmp_path, GOOD), environ={})
    assert config.channel("shop").settings == {"api_key": SECRET, "shop_id": 7, "cache_dir": "~/cache"}


def test_relative_paths_are_read_from_the_config_directory(tmp_path):
    path = write(tmp_path, '[paths]\ndata_dir = "data"\nlog_dir = "~/logs"\n')
    config = load_config(path, environ={})
    assert config.data_dir == tmp_path / "data"
    assert config.log_dir == Path.home() / "logs"
    assert config.database_url == default_database_url(tmp_path / "data")
    assert config.database_url == f"sqlite:///{tmp_path / 'data' / 'lengow-tui.db'}"


def test_example_config_loads_without_errors():
    example = ROOT / "config.example.toml"
    config = load_config(example, environ={})
    assert config.channel("sandbox").connector == "sandbox"
    checked = load_config(example, connectors=CONNECTORS, environ={})
    assert checked.channel("sandbox").settings == {"seed": 42}


def test_example_config_comments_every_key():
    lines = (ROOT / "config.example.toml").read_text().splitlines()
    for number, line in enumerate(lines):
        if line and not line.startswith(("#", "[")):
            assert lines[number - 1].startswith("#"), f"no comment above line {number + 1}: {line}"


def test_auto_accept_true_means_no_rule(tmp_path):
    text = '[channels.shop]\nconnector = "sandbox"\nauto_accept = true\nprefetch_documents = true\n'
    shop = load_config(write(tmp_path, text), connectors=CONNECTORS, environ={}).channel("shop")
    assert shop.auto_accept == AutoAcceptRules(enabled=True) and shop.auto_accept
    assert not shop.auto_accept.uses_stock and shop.auto_accept.max_total_cents is None
    assert shop.prefetch_documents is True
    assert "prefetch_documents" not in shop.settings  # a host key, not a connector setting


def test_auto_accept_table_of_rules(tmp_path):
    text = (
        '[channels.shop]\nconnector = "sandbox"\n\n[channels.shop.auto_accept]\nenabled = true\n'
        'max_total = 19.99\nsku_allow = ["BOOK-*", "DVD-?"]\nsku_deny = ["*-REFURB"]\nstock_buffer = 0\n'
    )
    for connectors in (CONNECTORS, None):
        shop = load_config(write(tmp_path, text), connectors=connectors, environ={}).channel("shop")
        assert shop.auto_accept == AutoAcceptRules(
            enabled=True, max_total=Decimal("19.99"), sku_allow=("BOOK-*", "DVD-?"), sku_deny=("*-REFURB",),
            stock_buffer=0,
        )
        assert shop.auto_accept.max_total_cents == 1999  # not 1998 from binary floating point
        assert shop.auto_accept.uses_stock  # a buffer of 0 still switches the stock rule on
        assert "auto_accept" not in shop.settings


def test_auto_accept_table_is_off_unless_enabled(tmp_path):
    text = '[channels.shop]\nconnector = "sandbox"\nauto_accept = { max_total = 10 }\n'
    rules = load_config(write(tmp_path, text), connectors=CONNECTORS, environ={}).channel("shop").auto_accept
    assert not rules.enabled and not rules and rules.max_total == Decimal(10)


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        ("auto_accept = \"yes\"\n", "channels.shop.auto_accept", "must be true, false or a table"),
        ("prefetch_documents = 1\n", "channels.shop.prefetch_documents", "must be true or false"),
        ("[channels.shop.auto_accept]\nenabled = true\nmax_totl = 5\n", "channels.shop.auto_accept.max_totl",
         "unknown key"),
        ("[channels.shop.auto_accept]\nenabled = \"true\"\n", "channels.shop.auto_accept.enabled",
         "must be true or false"),
        ("[channels.shop.auto_accept]\nmax_total = -1\n", "channels.shop.auto_accept.max_total", "0 or more"),
        ("[channels.shop.auto_accept]\nmax_total = \"500\"\n", "channels.shop.auto_accept.max_total",
         "must be a number"),
        ("[channels.shop.auto_accept]\nmax_total = true\n", "channels.shop.auto_accept.max_total",
         "must be a number"),
        ("[channels.shop.auto_accept]\nmax_total = nan\n", "channels.shop.auto_accept.max_total", "0 or more"),
        ("[channels.shop.auto_accept]\nsku_allow = \"BOOK-*\"\n", "channels.shop.auto_accept.sku_allow",
         "array of strings"),
        ("[channels.shop.auto_accept]\nsku_allow = []\n", "channels.shop.auto_accept.sku_allow",
         "at least one pattern"),
        ("[channels.shop.auto_accept]\nsku_deny = [\"A\", 3]\n", "channels.shop.auto_accept.sku_deny",
         "array of strings"),
        ("[channels.shop.auto_accept]\nsku_deny = [\" \"]\n", "channels.shop.auto_accept.sku_deny",
         "must not be empty"),
        ("[channels.shop.auto_accept]\nstock_buffer = -2\n", "channels.shop.auto_accept.stock_buffer",
         "0 or more"),
        ("[channels.shop.auto_accept]\nstock_buffer = 1.5\n", "channels.shop.auto_accept.stock_buffer",
         "must be an integer"),
    ],
)
def test_auto_accept_errors_name_file_line_and_key(tmp_path, body, key, words):
    text = '[channels.shop]\nconnector = "sandbox"\nseed = 1\n\n' + body
    path = write(tmp_path, text)
    for connectors in (CONNECTORS, None):
        error = error_of(path, connectors=connectors)
        assert (error.path, error.key) == (path, key)
        assert error.line == len(text.splitlines()), str(error)  # the offending line is the last one
        assert words in error.message
        assert str(error).startswith(f"{path}, line {error.line}, key {key}: ")


def test_auto_accept_inline_table_error_points_at_its_line(tmp_path):
    text = '[channels.shop]\nconnector = "sandbox"\nauto_accept = { enabled = true, stock_buffer = -1 }\nseed = 1\n'
    error = error_of(write(tmp_path, text), connectors=CONNECTORS)
    assert (error.line, error.key) == (3, "channels.shop.auto_accept.stock_buffer")


def test_auto_accept_help_texts_are_rendered(tmp_path):
    config = demo_config(tmp_path)
    config["channels"]["sandbox"]["auto_accept"] = {"enabled": True, "max_total": 500.0, "stock_buffer": 2}
    config["channels"]["sandbox"]["prefetch_documents"] = False
    text = render_config(config)
    assert "# true = auto-accept orders that pass every rule below" in text
    assert "# When set, accept only while stock - reserved - this buffer covers" in text
    assert "# true = fetch documents as soon as the marketplace offers them." in text
    path = write_config(tmp_path / "c.toml", text)
    rules = load_config(path, connectors=CONNECTORS, environ={}).channel("sandbox").auto_accept
    assert rules == AutoAcceptRules(enabled=True, max_total=Decimal("500.0"), stock_buffer=2)


# ------------------------------------------------------------------------------------------------ errors


def test_syntax_error_gives_file_and_line(tmp_path):
    path = write(tmp_path, '[sync]\ninterval_seconds = 60\n\n[tui\ntheme = "x"\n')
    error = error_of(path)
    assert error.path == path and error.line == 4
    assert str(error).startswith(f"{path}, line 4: invalid TOML")


def test_unknown_key_in_section_names_file_line_and_key(tmp_path):
    path = write(tmp_path, "[database]\nurl = \"\"\n\n[sync]\ninterval_seconds = 60\nintervall = 3\n")
    error = error_of(path)
    assert (error.path, error.line, error.key) == (path, 6, "sync.intervall")
    assert str(error).startswith(f"{path}, line 6, key sync.intervall: unknown key")
    assert "interval_seconds" in str(error)  # lists the known keys


def test_unknown_section(tmp_path):
    error = error_of(write(tmp_path, "[sync]\n\n[synch]\ninterval_seconds = 1\n"))
    assert (error.line, error.key) == (3, "synch")


def test_unknown_key_in_channel(tmp_path):
    text = GOOD + "\n[channels.third]\nconnector = \"fakeshop\"\napi_key = \"k\"\nshop_id = 1\nshopid = 2\n"
    path = write(tmp_path, text)
    error = error_of(path, connectors=CONNECTORS)
    assert error.key == "channels.third.shopid"
    assert error.line == text.splitlines().index("shopid = 2") + 1
    assert "unknown key" in error.message


def test_wrong_type_for_interval(tmp_path):
    error = error_of(write(tmp_path, '[sync]\ninterval_seconds = "300"\n'))
    assert (error.line, error.key) == (2, "sync.interval_seconds")
    assert "must be an integer, not a string" in str(error)


def test_bool_is_not_an_int_connector_field(tmp_path):
    text = '[channels.shop]\nconnector = "fakeshop"\napi_key = "k"\nshop_id = true\n'
    error = error_of(write(tmp_path, text), connectors=CONNECTORS)
    assert (error.line, error.key) == (4, "channels.shop.shop_id")
    assert "must be an integer, not a boolean" in error.message


def test_bool_is_not_an_int_in_sync(tmp_path):
    error = error_of(write(tmp_path, "[sync]\nretention_days = true\n"))
    assert error.key == "sync.retention_days"


def test_bad_url_field(tmp_path):
    text = '[channels.shop]\nconnector = "fakeshop"\napi_key = "k"\nshop_id = 1\nbase_url = "not a url"\n'
    error = error_of(write(tmp_path, text), connectors=CONNECTORS)
    assert (error.line, error.key) == (5, "channels.shop.base_url")


def test_missing_required_secret_names_key_and_env_var_only(tmp_path):
    text = GOOD.replace(f'api_key = "{SECRET}"\n', "")
    path = write(tmp_path, text)
    error = error_of(path, connectors=CONNECTORS)
    message = str(error)
    assert error.key == "channels.shop.api_key"
    assert error.line == 4  # the [channels.shop] header: the key itself is absent
    assert "required secret is missing" in message
    assert "LENGOW_TUI_SHOP_API_KEY" in message
    assert OTHER_SECRET not in message and SECRET not in message


def test_empty_required_secret_counts_as_missing(tmp_path):
    text = GOOD.replace(f'api_key = "{SECRET}"', 'api_key = ""')
    error = error_of(write(tmp_path, text), connectors=CONNECTORS)
    assert error.key == "channels.shop.api_key"


def test_secret_from_environment(tmp_path):
    text = GOOD.replace(f'api_key = "{SECRET}"\n', "")
    env = {"LENGOW_TUI_SHOP_API_KEY": "from-env", "LENGOW_TUI_OTHER_SHOP_ID": "99"}
    config = load_config(write(tmp_path, text), connectors=CONNECTORS, environ=env)
    assert config.channel("shop").settings["api_key"] == "from-env"
    assert config.channel("other").settings["shop_id"] == 99  # the environment wins, typed
    assert config.warnings == ()


def test_bad_int_in_environment(tmp_path):
    error = error_of(write(tmp_path, GOOD), connectors=CONNECTORS, environ={"LENGOW_TUI_SHOP_SHOP_ID": "x"})
    assert error.key == "channels.shop.shop_id" and "LENGOW_TUI_SHOP_SHOP_ID" in error.message


def test_unknown_connector_lists_known_ones(tmp_path):
    error = error_of(write(tmp_path, '\n[channels.shop]\nconnector = "amazon"\n'), connectors=CONNECTORS)
    assert (error.line, error.key) == (3, "channels.shop.connector")
    assert "fakeshop, sandbox" in error.message


def test_missing_connector_key(tmp_path):
    error = error_of(write(tmp_path, "[channels.shop]\nenabled = true\n"))
    assert (error.line, error.key) == (1, "channels.shop.connector")


@pytest.mark.parametrize("name", ["Shop", "1shop", "my-shop", '"shop fr"'])
def test_channel_name_must_be_a_slug(tmp_path, name):
    error = error_of(write(tmp_path, f'[sync]\n[channels.{name}]\nconnector = "sandbox"\n'))
    assert error.line == 2 and "slug" in error.message


def test_channel_must_be_a_table(tmp_path):
    error = error_of(write(tmp_path, "[channels]\nshop = 3\n"))
    assert (error.line, error.key) == (2, "channels.shop")


def test_keys_and_plugins_types(tmp_path):
    assert error_of(write(tmp_path, "[keys]\naccept = 1\n")).key == "keys.accept"
    assert error_of(write(tmp_path, "[plugins]\ndisabled = \"sandbox\"\n")).key == "plugins.disabled"
    config = load_config(write(tmp_path, '[keys]\naccept = "a"\n[plugins]\ndisabled = ["x"]\n'), environ={})
    assert config.keys == {"accept": "a"} and config.disabled_plugins == ("x",)


def test_non_positive_interval(tmp_path):
    assert "1 or more" in error_of(write(tmp_path, "[sync]\ninterval_seconds = 0\n")).message


# ------------------------------------------------------------------------------------------ missing files


def test_missing_file_at_default_path_gives_defaults(tmp_path, monkeypatch):
    import platformdirs

    monkeypatch.setattr(platformdirs, "user_config_path", lambda app: tmp_path / "conf" / app)
    assert default_config_path({}) == tmp_path / "conf" / "lengow-tui" / "config.toml"
    config = load_config(environ={})
    assert config.path is None and config.channels == ()
    assert config.sync_interval_seconds == 300 and config.retention_days == 183
    assert config.theme == "textual-dark" and config.ascii is False and config.mouse is True
    assert config.database_url == default_database_url(config.data_dir)
    assert not (tmp_path / "conf").exists()


def test_default_path_from_environment(tmp_path):
    path = write(tmp_path, "[sync]\ninterval_seconds = 5\n")
    assert load_config(environ={"LENGOW_TUI_CONFIG": str(path)}).sync_interval_seconds == 5
    assert load_config(environ={"LENGOW_TUI_CONFIG": str(tmp_path / "none.toml")}).path is None


def test_explicit_missing_path_is_an_error(tmp_path):
    error = error_of(tmp_path / "none.toml")
    assert error.path == tmp_path / "none.toml" and "not found" in str(error)


def test_load_config_or_exit(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        load_config_or_exit(write(tmp_path, "[sync]\nx = 1\n"), environ={})
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith("error: ")


# ------------------------------------------------------------------------------------------------ secrets


def test_world_readable_file_with_secret_warns(tmp_path):
    path = write(tmp_path, GOOD, mode=0o644)
    config = load_config(path, connectors=CONNECTORS, environ={})
    assert len(config.warnings) == 1
    assert "channels.shop.api_key" in config.warnings[0] and "chmod 600" in config.warnings[0]
    assert SECRET not in config.warnings[0]
    private_path = write(tmp_path, GOOD, "private.toml", mode=0o600)
    private = load_config(private_path, connectors=CONNECTORS, environ={})
    assert private.warnings == ()


def test_secret_only_in_environment_does_not_warn(tmp_path):
    text = GOOD.replace(f'api_key = "{SECRET}"\n', "").replace(f'api_key = "{OTHER_SECRET}"\n', "")
    path = write(tmp_path, text, mode=0o644)
    env = {"LENGOW_TUI_SHOP_API_KEY": SECRET, "LENGOW_TUI_OTHER_API_KEY": OTHER_SECRET}
    assert load_config(path, connectors=CONNECTORS, environ=env).warnings == ()


def test_secret_values_not_in_repr(tmp_path):
    for connectors in (CONNECTORS, None):
        config = load_config(write(tmp_path, GOOD), connectors=connectors, environ={})
        for text in (repr(config), repr(config.channel("shop")), str(config.channels)):
            assert SECRET not in text and OTHER_SECRET not in text
        assert "'api_key': '***'" in repr(config.channel("shop"))
    channel = ChannelConfig("x", "fakeshop", settings={"token": "abc"})
    assert "abc" not in repr(channel)


def test_database_password_not_in_repr(tmp_path):
    path = write(tmp_path, '[database]\nurl = "postgresql+psycopg://me:hunter2@db/orders"\n')
    config = load_config(path, environ={})
    assert config.database_url == "postgresql+psycopg://me:hunter2@db/orders"
    assert "hunter2" not in repr(config)


# ------------------------------------------------------------------------------------------------ writing


def test_render_config_round_trips_with_comments():
    config = demo_config(Path("/tmp/demo"))
    text = render_config(config)
    assert tomllib.loads(text) == config
    assert "# GDPR" in text and "[channels.sandbox]" in text


def test_init_text_loads_as_defaults(tmp_path):
    path = write(tmp_path, init_config_text())
    config = load_config(path, connectors=CONNECTORS, environ={})
    assert config.channels == () and config.sync_interval_seconds == 300


def test_demo_config_loads(tmp_path):
    path = write_config(tmp_path / "demo" / "config.toml", demo_config(tmp_path / "data"))
    config = load_config(path, connectors=CONNECTORS, environ={})
    assert config.data_dir == tmp_path / "data"
    assert config.channel("sandbox").settings == {"seed": 42}
    assert config.warnings == ()


def test_write_config_mode_and_overwrite(tmp_path):
    path = tmp_path / "a" / "b" / "config.toml"
    write_config(path, init_config_text())
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        write_config(path, "[sync]\n")
    assert path.read_text() == init_config_text()
    write_config(path, "[sync]\n", force=True)
    assert path.read_text() == "[sync]\n" and path.stat().st_mode & 0o777 == 0o600
    assert sorted(os.listdir(path.parent)) == ["config.toml"]  # no temporary file left
    with pytest.raises(tomllib.TOMLDecodeError):
        write_config(tmp_path / "bad.toml", "[sync\n")
    assert not (tmp_path / "bad.toml").exists()


# ---------------------------------------------------------------------------------------------------- CLI


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """Run ``lengow-tui`` in-process with a plugin registry holding the test connectors."""
    import lengow_tui.plugins as plugins

    registry = SimpleNamespace(connectors={n: SimpleNamespace(spec=s) for n, s in CONNECTORS.items()})
    monkeypatch.setattr(plugins, "load_registry", lambda **kwargs: registry)
    monkeypatch.delenv("LENGOW_TUI_CONFIG", raising=False)
    monkeypatch.setattr(state, "config_path", None)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


def test_cli_init_then_check(cli, tmp_path):
    path = tmp_path / "sub" / "config.toml"
    result = cli("config", "init", "--path", str(path))
    assert result.exit_code == 0, result.output
    assert str(path) in result.stdout
    assert path.stat().st_mode & 0o777 == 0o600
    result = cli("--config", str(path), "config", "check")
    assert result.exit_code == 0, result.output
    assert f"config OK: {path}" in result.stdout


def test_cli_init_uses_global_config_option(cli, tmp_path):
    path = tmp_path / "global.toml"
    assert cli("--config", str(path), "config", "init").exit_code == 0
    assert path.exists()


def test_cli_check_lists_channels_and_warns(cli, tmp_path):
    path = write(tmp_path, GOOD, mode=0o644)
    result = cli("--config", str(path), "config", "check")
    assert result.exit_code == 0, result.output
    assert "channel shop: connector fakeshop, enabled" in result.stdout
    assert "channel other: connector fakeshop, disabled" in result.stdout
    assert "warning:" in result.stderr and "chmod 600" in result.stderr
    assert SECRET not in result.output and OTHER_SECRET not in result.output


def test_cli_init_refuses_to_overwrite(cli, tmp_path):
    path = write(tmp_path, "# mine\n[sync]\n")
    result = cli("config", "init", "--path", str(path))
    assert result.exit_code == 2
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert path.read_text() == "# mine\n[sync]\n"
    result = cli("config", "init", "--path", str(path), "--force")
    assert result.exit_code == 0 and path.read_text() == init_config_text()


@pytest.mark.parametrize("text", [
    "[sync]\ninterval_seconds = \"x\"\n",                # bad value
    "[sync\n",                                           # bad syntax
    '[channels.shop]\nconnector = "fakeshop"\nshop_id = 1\n',  # missing secret (only known with connectors)
])
def test_cli_check_bad_file_exits_2_and_writes_nothing(cli, tmp_path, text):
    path = write(tmp_path, text)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = cli("--config", str(path), "config", "check")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}, line ")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert path.read_text() == text


def test_cli_check_missing_explicit_file(cli, tmp_path):
    result = cli("--config", str(tmp_path / "none.toml"), "config", "check")
    assert result.exit_code == 2 and "not found" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_real_command_init_then_check(tmp_path):
    """End to end through the installed script and the real plugin registry."""
    exe = Path(sys.executable).parent / "lengow-tui"
    if not exe.exists():
        exe_path = shutil.which("lengow-tui")
        if exe_path is None:
            pytest.skip("lengow-tui script not installed")
        exe = Path(exe_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENGOW_TUI_")}
    path = tmp_path / "config.toml"
    init = subprocess.run([str(exe), "config", "init", "--path", str(path)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    check = subprocess.run([str(exe), "--config", str(path), "config", "check"], env=env, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert f"config OK: {path}" in check.stdout
    again = subprocess.run([str(exe), "config", "init", "--path", str(path)], env=env, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 2


def test_appconfig_is_frozen(tmp_path):
    config = load_config(write(tmp_path, GOOD), environ={})
    assert isinstance(config, AppConfig)
    with pytest.raises(AttributeError):
        config.retention_days = 1  # type: ignore[misc]
