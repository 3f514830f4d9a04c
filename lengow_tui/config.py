"""The config file: where it lives, loading and validating it, and writing a commented one.

Every problem is reported as one :class:`ConfigError` naming the file, the line (when it can be found in
the text) and the dotted key. Secret values are never put in a message or a ``repr``.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from lengow_tui.connector_api.spec import ConfigField, ConnectorSpec

APP_NAME = "lengow-tui"
CONFIG_ENV_VAR = "LENGOW_TUI_CONFIG"
ENV_PREFIX = "LENGOW_TUI_"

DEFAULT_SYNC_INTERVAL_SECONDS = 300
DEFAULT_RETENTION_DAYS = 183  # GDPR: personal data of an order is erased after about six months
DEFAULT_THEME = "textual-dark"

CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Keys of a [channels.<name>] table that belong to the host; every other key is a connector setting.
CHANNEL_KEYS = ("connector", "enabled", "auto_accept", "retention_days", "prefetch_documents")
# Keys of a [channels.<name>.auto_accept] table.
AUTO_ACCEPT_KEYS = ("enabled", "max_total", "sku_allow", "sku_deny", "stock_buffer")
# Used only when no connector spec says which settings are secret (load without ``connectors``).
_SECRET_HINT = re.compile(r"(secret|password|passwd|token|api_key|apikey|private)", re.I)


class ConfigError(Exception):
    """The config cannot be used. ``str()`` gives one message naming the file, line and key."""

    def __init__(self, message: str, *, path: Path | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.key = key

    def __str__(self) -> str:
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.key:
            where.append(f"key {self.key}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True)
class AutoAcceptRules:
    """A channel's auto-accept: off by default; when on, an order is accepted only if every rule passes.

    ``auto_accept = true`` in the file is ``AutoAcceptRules(enabled=True)``: accept everything the
    marketplace lets us accept. ``bool(rules)`` is ``rules.enabled``, so ``if channel.auto_accept:`` reads
    as it did when the key was a plain boolean.
    """

    enabled: bool = False
    max_total: Decimal | None = None  # in the order's currency; above it the order waits for a human
    sku_allow: tuple[str, ...] = ()  # fnmatch patterns; when given, every line's SKU must match one
    sku_deny: tuple[str, ...] = ()  # fnmatch patterns; any line matching one blocks the order
    stock_buffer: int | None = None  # None: no stock rule; else stock - reserved - buffer must cover a line

    def __bool__(self) -> bool:
        return self.enabled

    @property
    def max_total_cents(self) -> int | None:
        if self.max_total is None:
            return None
        return int((self.max_total * 100).to_integral_value(rounding=ROUND_HALF_UP))

    @property
    def uses_stock(self) -> bool:
        return self.stock_buffer is not None


@dataclass(frozen=True)
class ChannelConfig:
    """One marketplace account, as configured in ``[channels.<name>]``.

    ``settings`` holds the connector's config fields: validated and typed, defaults applied and secrets
    resolved when the config was loaded with connector specs; as written in the file otherwise.
    """

    name: str
    connector: str
    enabled: bool = True
    settings: dict[str, Any] = field(default_factory=dict, hash=False)
    auto_accept: AutoAcceptRules = field(default_factory=AutoAcceptRules)
    retention_days: int = DEFAULT_RETENTION_DAYS
    prefetch_documents: bool = False  # fetch documents as soon as the marketplace offers them
    secret_fields: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def is_secret(self, key: str) -> bool:
        return key in self.secret_fields or bool(_SECRET_HINT.search(key))

    def redacted_settings(self) -> dict[str, Any]:
        """``settings`` with every secret value replaced by ``'***'`` (safe to show or log)."""
        return {k: ("***" if self.is_secret(k) and v not in (None, "") else v)
                for k, v in self.settings.items()}

    def __repr__(self) -> str:
        return (f"ChannelConfig(name={self.name!r}, connector={self.connector!r}, enabled={self.enabled!r}, "
                f"settings={self.redacted_settings()!r}, auto_accept={self.auto_accept!r}, "
                f"retention_days={self.retention_days!r}, prefetch_documents={self.prefetch_documents!r})")


@dataclass(frozen=True)
class AppConfig:
    """The whole loaded config. ``path`` is None when no file exists and defaults are used."""

    path: Path | None
    database_url: str
    data_dir: Path
    log_dir: Path
    sync_interval_seconds: int = DEFAULT_SYNC_INTERVAL_SECONDS
    retention_days: int = DEFAULT_RETENTION_DAYS
    theme: str = DEFAULT_THEME
    ascii: bool = False
    mouse: bool = True
    keys: dict[str, str] = field(default_factory=dict, hash=False)
    disabled_plugins: tuple[str, ...] = ()
    channels: tuple[ChannelConfig, ...] = ()
    warnings: tuple[str, ...] = ()

    def channel(self, name: str) -> ChannelConfig:
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(name)

    @property
    def enabled_channels(self) -> tuple[ChannelConfig, ...]:
        return tuple(c for c in self.channels if c.enabled)

    def __repr__(self) -> str:
        return (f"AppConfig(path={self.path!r}, database_url={redact_url(self.database_url)!r}, "
                f"data_dir={self.data_dir!r}, log_dir={self.log_dir!r}, "
                f"sync_interval_seconds={self.sync_interval_seconds!r}, "
                f"retention_days={self.retention_days!r}, "
                f"theme={self.theme!r}, ascii={self.ascii!r}, mouse={self.mouse!r}, keys={self.keys!r}, "
                f"disabled_plugins={self.disabled_plugins!r}, channels={self.channels!r}, "
                f"warnings={self.warnings!r})")


# ---------------------------------------------------------------------------------------------- paths


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$LENGOW_TUI_CONFIG``, else ``config.toml`` in the user config dir."""
    env = os.environ if environ is None else environ
    if env.get(CONFIG_ENV_VAR):
        return Path(env[CONFIG_ENV_VAR]).expanduser()
    import platformdirs

    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def default_data_dir() -> Path:
    import platformdirs

    return platformdirs.user_data_path(APP_NAME)


def default_log_dir() -> Path:
    import platformdirs

    return platformdirs.user_log_path(APP_NAME)


def default_database_url(data_dir: Path) -> str:
    """The SQLite file ``lengow-tui.db`` in ``data_dir``, as a SQLAlchemy URL."""
    return f"sqlite:///{(Path(data_dir) / 'lengow-tui.db').as_posix()}"


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)
        userinfo = netloc[0].split(":", 1)[0]
        return urlunsplit(parts._replace(netloc=f"{userinfo}:***@{netloc[1]}"))
    except ValueError:
        return "<invalid URL>"


def env_var_name(channel: str, field_name: str) -> str:
    """The environment variable that may hold a channel's setting, e.g. ``LENGOW_TUI_FNAC_API_KEY``."""
    return f"{ENV_PREFIX}{channel.upper()}_{field_name.upper()}"


# -------------------------------------------------------------------------------- locating keys in text

_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]")
_ARRAY_HEADER = re.compile(rf"^\s*\[\[\s*({_DOTTED})\s*\]\]")
_ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=(.*)$")
_PART = re.compile(_KEY_PART)


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = []
    for match in _PART.finditer(dotted):
        part = match.group(0)
        if part[0] in "\"'":
            try:
                part = tomllib.loads(f"k = {part}")["k"]
            except tomllib.TOMLDecodeError:
                part = part[1:-1]
        parts.append(part)
    return tuple(parts)


def _find_line(text: str, key: tuple[str, ...]) -> int | None:
    """The 1-based line where ``key`` is set or its table starts; else where its nearest parent is."""
    best_line, best_len = None, 0
    table: tuple[str, ...] = ()
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if in_multiline in line:
                in_multiline = None
            continue
        if match := _ARRAY_HEADER.match(line):
            table = _split_key(match.group(1))
            candidate = table
        elif match := _HEADER.match(line):
            table = _split_key(match.group(1))
            candidate = table
        elif match := _ASSIGN.match(line):
            candidate = table + _split_key(match.group(1))
            rest = match.group(2)
            for delim in ('"""', "'''"):
                if rest.count(delim) % 2 == 1:
                    in_multiline = delim
                    break
        else:
            continue
        if candidate == key:
            return number
        if best_len < len(candidate) < len(key) and key[: len(candidate)] == candidate:
            best_line, best_len = number, len(candidate)
    return best_line


# ----------------------------------------------------------------------------------------------- loading


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime, date, time)):
        return "a date/time"
    return type(value).__name__


_ENV_TRUE = {"1", "true", "yes", "on"}
_ENV_FALSE = {"0", "false", "no", "off"}


class _Loader:
    def __init__(self, path: Path | None, text: str, environ: Mapping[str, str]) -> None:
        self.path = path
        self.text = text
        self.environ = environ
        self.base_dir = path.absolute().parent if path is not None else Path.cwd()

    def error(self, key: tuple[str, ...], message: str) -> ConfigError:
        line = _find_line(self.text, key) if key else None
        return ConfigError(message, path=self.path, line=line, key=".".join(key) or None)

    # -- generic checks

    def table(self, data: dict[str, Any], key: tuple[str, ...]) -> dict[str, Any]:
        value = data.get(key[-1], {})
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table ([{'.'.join(key)}]), not {_type_name(value)}")
        return value

    def no_unknown(self, table: Mapping[str, Any], known: tuple[str, ...] | set[str], where: tuple[str, ...],
                   what: str = "key") -> None:
        for name in table:
            if name not in known:
                listed = ", ".join(sorted(known)) or "none"
                raise self.error(where + (name,), f"unknown {what} (known: {listed})")

    def get(self, table: Mapping[str, Any], key: tuple[str, ...], kind: str, default: Any) -> Any:
        if key[-1] not in table:
            return default
        return self.check_value(table[key[-1]], key, kind)

    def check_value(self, value: Any, key: tuple[str, ...], kind: str) -> Any:
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.error(key, f"must be an integer, not {_type_name(value)}")
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise self.error(key, f"must be true or false, not {_type_name(value)}")
            return value
        if kind in ("text", "str"):
            if not isinstance(value, str):
                raise self.error(key, f"must be a string, not {_type_name(value)}")
            return value
        if kind == "url":
            if not isinstance(value, str):
                raise self.error(key, f"must be a URL string, not {_type_name(value)}")
            if value:
                try:
                    parts = urlsplit(value)
                    ok = bool(parts.scheme and parts.netloc)
                except ValueError:
                    ok = False
                if not ok:
                    raise self.error(key, "must be a URL such as https://host/path")
            return value
        if kind == "path":
            if not isinstance(value, str):
                raise self.error(key, f"must be a path string, not {_type_name(value)}")
            return self.path_value(value) if value else value
        if kind == "str_list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self.error(key, "must be an array of strings, e.g. [\"name\"]")
            return value
        raise AssertionError(kind)

    def positive(self, value: int, key: tuple[str, ...]) -> int:
        if value < 1:
            raise self.error(key, "must be 1 or more")
        return value

    def path_value(self, raw: str) -> Path:
        # Relative paths are read relative to the config file, so the file means the same from any cwd.
        path = Path(raw).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    # -- sections

    def load(self, data: dict[str, Any], connectors: Mapping[str, ConnectorSpec] | None) -> AppConfig:
        self.no_unknown(data, _SECTIONS, (), "section")
        sections = {name: self.table(data, (name,)) for name in _SECTIONS}
        for name in ("database", "paths", "sync", "tui", "plugins"):
            self.no_unknown(sections[name], _SECTIONS[name], (name,))

        database, paths = sections["database"], sections["paths"]
        sync, tui = sections["sync"], sections["tui"]
        url = self.get(database, ("database", "url"), "str", "")
        if url and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", url):
            raise self.error(("database", "url"),
                             "must be a SQLAlchemy URL such as postgresql+psycopg://user@host/db")
        data_dir = self.get(paths, ("paths", "data_dir"), "path", "") or default_data_dir()
        log_dir = self.get(paths, ("paths", "log_dir"), "path", "") or default_log_dir()
        interval = self.positive(self.get(sync, ("sync", "interval_seconds"), "int",
                                          DEFAULT_SYNC_INTERVAL_SECONDS), ("sync", "interval_seconds"))
        retention = self.positive(self.get(sync, ("sync", "retention_days"), "int", DEFAULT_RETENTION_DAYS),
                                  ("sync", "retention_days"))
        theme = self.get(tui, ("tui", "theme"), "str", DEFAULT_THEME) or DEFAULT_THEME
        ascii_only = self.get(tui, ("tui", "ascii"), "bool", False)
        mouse = self.get(tui, ("tui", "mouse"), "bool", True)

        keys: dict[str, str] = {}
        for binding, value in sections["keys"].items():
            if isinstance(value, dict):
                raise self.error(("keys", binding), 'binding ids contain a dot and must be quoted, '
                                 'e.g. "orders.accept" = "A"')
            value = self.check_value(value, ("keys", binding), "str")
            if not value.strip():
                raise self.error(("keys", binding), "must name at least one key, e.g. \"a\" or \"ctrl+a,a\"")
            keys[binding] = value
        disabled = tuple(self.get(sections["plugins"], ("plugins", "disabled"), "str_list", []))

        self.secrets_in_file: list[str] = []
        channels = tuple(
            self.channel(name, table, retention, connectors) for name, table in sections["channels"].items()
        )
        return AppConfig(
            path=self.path,
            database_url=url or default_database_url(data_dir),
            data_dir=data_dir,
            log_dir=log_dir,
            sync_interval_seconds=interval,
            retention_days=retention,
            theme=theme,
            ascii=ascii_only,
            mouse=mouse,
            keys=keys,
            disabled_plugins=disabled,
            channels=channels,
            warnings=self.permission_warnings(),
        )

    def channel(self, name: str, table: Any, default_retention: int,
                connectors: Mapping[str, ConnectorSpec] | None) -> ChannelConfig:
        where = ("channels", name)
        if not CHANNEL_NAME.match(name):
            raise self.error(where, "channel name must be a slug: a lowercase letter, then lowercase "
                                    "letters, digits or underscores")
        if not isinstance(table, dict):
            raise self.error(where, f"must be a table ([channels.{name}]), not {_type_name(table)}")
        if "connector" not in table:
            raise self.error(where + ("connector",), "missing: name the connector of this channel, "
                                                    "e.g. connector = \"sandbox\" (see `lengow-tui plugins`)")
        connector = self.check_value(table["connector"], where + ("connector",), "str")
        enabled = self.get(table, where + ("enabled",), "bool", True)
        auto_accept = self.auto_accept(table.get("auto_accept", False), where + ("auto_accept",))
        retention = self.positive(self.get(table, where + ("retention_days",), "int", default_retention),
                                  where + ("retention_days",))
        prefetch = self.get(table, where + ("prefetch_documents",), "bool", False)
        given = {k: v for k, v in table.items() if k not in CHANNEL_KEYS}

        if connectors is None:
            secret_fields = frozenset(k for k in given if _SECRET_HINT.search(k))
            self.secrets_in_file.extend(".".join(where + (k,)) for k in given if k in secret_fields)
            settings = dict(given)
        else:
            spec = connectors.get(connector)
            if spec is None:
                known = ", ".join(sorted(connectors)) or "none installed"
                raise self.error(where + ("connector",), f"unknown connector {connector!r} "
                                                        f"(known: {known}; see `lengow-tui plugins`)")
            secret_fields = frozenset(f.name for f in spec.config_fields if f.secret)
            settings = self.settings(name, spec, given)
        return ChannelConfig(name=name, connector=connector, enabled=enabled, settings=settings,
                             auto_accept=auto_accept, retention_days=retention, prefetch_documents=prefetch,
                             secret_fields=secret_fields)

    def auto_accept(self, value: Any, key: tuple[str, ...]) -> AutoAcceptRules:
        if isinstance(value, bool):
            return AutoAcceptRules(enabled=value)
        if not isinstance(value, dict):
            raise self.error(key, "must be true, false or a table of rules "
                                  f"([{'.'.join(key)}] with enabled = true), not {_type_name(value)}")
        self.no_unknown(value, AUTO_ACCEPT_KEYS, key)
        enabled = self.get(value, key + ("enabled",), "bool", False)
        max_total = None
        if "max_total" in value:
            raw = value["max_total"]
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                raise self.error(key + ("max_total",), f"must be a number such as 500.0, not {_type_name(raw)}")
            # Through str() so that 19.99 stays 19.99 and does not become 19.989999…
            max_total = Decimal(str(raw))
            if not max_total.is_finite() or max_total < 0:
                raise self.error(key + ("max_total",), "must be 0 or more (an amount in the order's currency)")
        patterns = {}
        for name in ("sku_allow", "sku_deny"):
            listed = self.get(value, key + (name,), "str_list", [])
            if name in value and not listed:
                # An empty allow list would silently block every order; an empty deny list says nothing.
                raise self.error(key + (name,), "must list at least one pattern, e.g. [\"BOOK-*\"] "
                                                "(leave the key out for no rule)")
            if any(not p.strip() for p in listed):
                raise self.error(key + (name,), "patterns must not be empty")
            patterns[name] = tuple(listed)
        buffer = self.get(value, key + ("stock_buffer",), "int", None)
        if buffer is not None and buffer < 0:
            raise self.error(key + ("stock_buffer",), "must be 0 or more (units kept back from auto-accept)")
        return AutoAcceptRules(enabled=enabled, max_total=max_total, sku_allow=patterns["sku_allow"],
                               sku_deny=patterns["sku_deny"], stock_buffer=buffer)

    def settings(self, channel: str, spec: ConnectorSpec, given: dict[str, Any]) -> dict[str, Any]:
        where = ("channels", channel)
        fields = {f.name: f for f in spec.config_fields}
        self.no_unknown(given, set(fields) | set(CHANNEL_KEYS), where,
                        f"key for connector {spec.name!r}")
        settings: dict[str, Any] = {}
        for cfg in spec.config_fields:
            key = where + (cfg.name,)
            env_name = env_var_name(channel, cfg.name)
            if env_name in self.environ:
                # The environment wins over the file, so a deployment can override without editing it.
                value = self.env_value(self.environ[env_name], cfg, key, env_name)
            elif cfg.name in given:
                value = self.check_value(given[cfg.name], key, cfg.type)
                if cfg.secret and value not in ("", None):
                    self.secrets_in_file.append(".".join(key))
            else:
                value = None
            if value in (None, ""):
                value = self.default(cfg)
            if cfg.required and value in (None, ""):
                what = "required secret" if cfg.secret else "required setting"
                label = f" ({cfg.label})" if cfg.label and not cfg.secret else ""
                raise self.error(key, f"{what}{label} is missing (set it in the file or in {env_name})")
            settings[cfg.name] = value
        return settings

    def env_value(self, raw: str, cfg: ConfigField, key: tuple[str, ...], env_name: str) -> Any:
        if cfg.type == "int":
            try:
                return int(raw.strip())
            except ValueError:
                raise self.error(key, f"must be an integer (from environment variable {env_name})") from None
        if cfg.type == "bool":
            word = raw.strip().lower()
            if word in _ENV_TRUE:
                return True
            if word in _ENV_FALSE:
                return False
            raise self.error(key, f"must be true or false (from environment variable {env_name})")
        if cfg.type == "path":
            return Path(raw).expanduser() if raw else raw
        if cfg.type == "url" and raw:
            try:
                parts = urlsplit(raw)
                ok = bool(parts.scheme and parts.netloc)
            except ValueError:
                ok = False
            if not ok:
                raise self.error(key, "must be a URL such as https://host/path "
                                      f"(from environment variable {env_name})")
        return raw

    @staticmethod
    def default(cfg: ConfigField) -> Any:
        if cfg.type == "path" and isinstance(cfg.default, str) and cfg.default:
            return Path(cfg.default).expanduser()
        return cfg.default

    def permission_warnings(self) -> tuple[str, ...]:
        if not self.secrets_in_file or self.path is None or os.name == "nt":
            return ()
        try:
            mode = self.path.stat().st_mode & 0o777
        except OSError:
            return ()
        if not mode & 0o077:
            return ()
        keys = ", ".join(self.secrets_in_file)
        return (f"{self.path} holds secrets ({keys}) but is readable by other users (mode {mode:04o}); "
                f"run: chmod 600 {self.path}",)


_SECTIONS: dict[str, tuple[str, ...]] = {
    "database": ("url",),
    "paths": ("data_dir", "log_dir"),
    "sync": ("interval_seconds", "retention_days"),
    "tui": ("theme", "ascii", "mouse"),
    "keys": (),
    "plugins": ("disabled",),
    "channels": (),
}


def _syntax_error(exc: tomllib.TOMLDecodeError, path: Path | None, text: str) -> ConfigError:
    message = str(exc)
    line = None
    if match := re.search(r"\s*\(at line (\d+), column \d+\)$", message):
        line = int(match.group(1))
        message = message[: match.start()]
    elif match := re.search(r"\s*\(at end of document\)$", message):
        line = max(1, len(text.splitlines()))
        message = message[: match.start()]
    return ConfigError(f"invalid TOML: {message}", path=path, line=line)


def parse_config_text(text: str, *, path: Path | None = None,
                      connectors: Mapping[str, ConnectorSpec] | None = None,
                      environ: Mapping[str, str] | None = None) -> AppConfig:
    """Validate config ``text`` (as :func:`load_config` does for a file)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, path, text) from None
    loader = _Loader(path, text, os.environ if environ is None else environ)
    return loader.load(data, connectors)


def load_config(path: Path | None = None, *, connectors: Mapping[str, ConnectorSpec] | None = None,
                environ: Mapping[str, str] | None = None) -> AppConfig:
    """Load and validate the config file.

    ``path`` None means :func:`default_config_path`; a missing file there gives the defaults and no
    channels, while a missing file named explicitly is an error. With ``connectors`` (name -> spec),
    every channel's connector must exist and its settings are checked against the spec's config
    fields; without, settings are kept as written.
    """
    env = os.environ if environ is None else environ
    explicit = path is not None
    file_path = Path(path).expanduser() if path is not None else default_config_path(env)
    try:
        raw = file_path.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigError("config file not found (create one with `lengow-tui config init`)",
                              path=file_path) from None
        return parse_config_text("", path=None, connectors=connectors, environ=env)
    except IsADirectoryError:
        raise ConfigError("is a directory, not a config file", path=file_path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=file_path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError("not valid UTF-8 text", path=file_path, line=line) from None
    return parse_config_text(text, path=file_path, connectors=connectors, environ=env)


def load_config_or_exit(path: Path | None = None, *, connectors: Mapping[str, ConnectorSpec] | None = None,
                        environ: Mapping[str, str] | None = None, show_warnings: bool = False) -> AppConfig:
    """:func:`load_config` for CLI commands: on a bad config print ``error: <message>`` to stderr and exit 2.

    With ``show_warnings``, ``config.warnings`` (e.g. secrets in a file others can read) go to stderr as
    ``warning: ...``; by default the caller shows them.
    """
    try:
        config = load_config(path, connectors=connectors, environ=environ)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if show_warnings:
        for warning in config.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return config


# ----------------------------------------------------------------------------------------------- writing

CONFIG_HEADER = """\
# lengow-tui configuration. Every key is optional: a missing key takes its default.
# Check it with `lengow-tui config check`. Reference: config.example.toml in the source tree.
"""

CONFIG_COMMENTS: dict[str, str] = {
    "database": "Where orders are stored.",
    "database.url": ("SQLAlchemy URL; empty = SQLite file lengow-tui.db in paths.data_dir.\n"
                     "e.g. \"postgresql+psycopg://user@host/db\" (put the password in ~/.pgpass, not here)"),
    "paths": "Directories; empty = the platform default. ~ is expanded; relative paths are read from\n"
             "this file's directory.",
    "paths.data_dir": "Database, connector state and documents.",
    "paths.log_dir": "Logs and redacted crash reports.",
    "sync": "The sync engine (TUI background worker and `lengow-tui sync`).",
    "sync.interval_seconds": "Seconds between two sync rounds of a channel.",
    "sync.retention_days": "GDPR: personal data of an order is erased this many days after the order\n"
                           "(183 = about 6 months).",
    "tui": "The terminal interface.",
    "tui.theme": "Textual theme name, e.g. \"textual-dark\", \"textual-light\", \"nord\".",
    "tui.ascii": "true = draw with ASCII only (for terminals without Unicode box drawing).",
    "tui.mouse": "false = ignore the mouse (keyboard only).",
    "keys": "Key remapping: binding id = keys, e.g. \"orders.accept\" = \"A\" (quote the ids: they contain a dot).\n"
            "Binding ids are listed in the TUI help (press ?).",
    "plugins": "Connector plugins.",
    "plugins.disabled": "Names of connector plugins not to load (see `lengow-tui plugins`).",
    "channels": "One table per marketplace account, [channels.<name>]; <name> is a slug (a-z, 0-9, _).\n"
                "Besides the keys below, set the connector's own fields (`lengow-tui plugins` lists them).\n"
                "A secret may instead come from the environment: LENGOW_TUI_<CHANNEL>_<FIELD>, e.g.\n"
                "LENGOW_TUI_FNAC_API_KEY (the environment wins over this file).",
    "channels.*.connector": "Connector that talks to this marketplace account.",
    "channels.*.enabled": "false = keep the channel's orders but do not sync it.",
    "channels.*.auto_accept": ("Accept new orders automatically: false (default), true (every order the\n"
                               "marketplace lets us accept) or a table [channels.<name>.auto_accept] of rules.\n"
                               "An order a rule holds back waits for a human, with the reason shown."),
    "channels.*.auto_accept.enabled": "true = auto-accept orders that pass every rule below; false = off.",
    "channels.*.auto_accept.max_total": "Orders whose total (in the order's currency) is above this wait.",
    "channels.*.auto_accept.sku_allow": ("SKU patterns (* and ? wildcards, case-sensitive), e.g. [\"BOOK-*\"];\n"
                                         "when given, every line's SKU must match one."),
    "channels.*.auto_accept.sku_deny": "SKU patterns, e.g. [\"*-REFURB\"]; an order with a matching line waits.",
    "channels.*.auto_accept.stock_buffer": ("When set, accept only while stock - reserved - this buffer covers\n"
                                            "every line, and reserve the quantity (`lengow-tui stock import`)."),
    "channels.*.prefetch_documents": "true = fetch documents as soon as the marketplace offers them.",
    "channels.*.retention_days": "Overrides sync.retention_days for this channel.",
    "channels.*.seed": "Sandbox: seed of the generated orders (same seed, same orders).",
}

CONFIG_FOOTER = """\
# Example of a real marketplace account (the api_key can come from LENGOW_TUI_FNAC_API_KEY instead):
# [channels.fnac]
# connector = "fnac"
# enabled = true
# api_key = "..."
"""


def default_config_dict() -> dict[str, Any]:
    """What ``config init`` writes: every section with its default value, no channels."""
    return {
        "database": {"url": ""},
        "paths": {"data_dir": "", "log_dir": ""},
        "sync": {"interval_seconds": DEFAULT_SYNC_INTERVAL_SECONDS, "retention_days": DEFAULT_RETENTION_DAYS},
        "tui": {"theme": DEFAULT_THEME, "ascii": False, "mouse": True},
        "keys": {},
        "plugins": {"disabled": []},
        "channels": {},
    }


def demo_config(data_dir: Path) -> dict[str, Any]:
    """The config of ``lengow-tui demo``: everything under ``data_dir``, one sandbox channel."""
    config = default_config_dict()
    config["paths"] = {"data_dir": str(data_dir), "log_dir": str(Path(data_dir) / "logs")}
    config["channels"] = {"sandbox": {"connector": "sandbox", "enabled": True, "seed": 42}}
    return config


def _toml_key(key: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return key
    import tomli_w

    return tomli_w.dumps({"k": key})[4:].strip()


def _comment_lines(text: str | None) -> list[str]:
    if not text:
        return []
    return [f"# {line}".rstrip() for line in text.splitlines()]


def _comment_for(comments: Mapping[str, str], path: tuple[str, ...]) -> str | None:
    exact = comments.get(".".join(path))
    if exact is not None:
        return exact
    # "channels.*.connector" applies to every channel.
    for pattern, text in comments.items():
        parts = pattern.split(".")
        if len(parts) == len(path) and all(p in ("*", q) for p, q in zip(parts, path, strict=True)):
            return text
    return None


def _render_table(table: Mapping[str, Any], path: tuple[str, ...],
                  comments: Mapping[str, str]) -> Iterator[str]:
    import tomli_w

    for key, value in table.items():
        if isinstance(value, Mapping) or value is None:
            continue
        yield from _comment_lines(_comment_for(comments, path + (key,)))
        yield tomli_w.dumps({key: value}).rstrip("\n")
    for key, value in table.items():
        if not isinstance(value, Mapping):
            continue
        sub = path + (key,)
        has_scalars = any(not isinstance(v, Mapping) for v in value.values())
        yield ""
        yield from _comment_lines(_comment_for(comments, sub))
        if has_scalars or not value:
            yield "[" + ".".join(_toml_key(k) for k in sub) + "]"
        yield from _render_table(value, sub, comments)


def render_config(config: Mapping[str, Any], comments: Mapping[str, str] | None = None, *,
                  header: str = CONFIG_HEADER, footer: str = "") -> str:
    """TOML text for the nested ``config`` dict, with ``comments`` (dotted key -> text) above keys and tables.

    Values are serialised by tomli-w; ``None`` values are left out. A key pattern may use ``*`` for one
    level, e.g. ``channels.*.connector``. The result is checked to parse back to ``config``.
    """
    comments = CONFIG_COMMENTS if comments is None else comments
    lines = [header.rstrip("\n")] if header else []
    lines.extend(_render_table(config, (), comments))
    if footer:
        lines.extend(["", footer.rstrip("\n")])
    text = "\n".join(lines).lstrip("\n") + "\n"
    if tomllib.loads(text) != _without_none(config):
        raise AssertionError("render_config produced TOML that does not read back as the given config")
    return text


def _without_none(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    return value


def write_config(path: Path, config: Mapping[str, Any] | str, *, force: bool = False,
                 comments: Mapping[str, str] | None = None, footer: str = "") -> Path:
    """Write a config file with mode 0600, creating parent directories.

    ``config`` is a nested dict (rendered with :func:`render_config`) or ready TOML text (checked to
    parse). An existing file is only replaced with ``force`` (else :class:`FileExistsError`); the
    replacement is atomic.
    """
    path = Path(path).expanduser()
    text = config if isinstance(config, str) else render_config(config, comments, footer=footer)
    tomllib.loads(text)  # never write a file that cannot be read back
    if path.exists() and not force:
        raise FileExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml.tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            os.replace(tmp, path)
        else:
            _link_no_clobber(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _link_no_clobber(tmp: str, path: Path) -> None:
    # A hard link fails if the target exists, so a file created meanwhile is never replaced.
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links
        if path.exists():
            raise FileExistsError(path) from None
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def init_config_text() -> str:
    """The commented config ``lengow-tui config init`` writes."""
    return render_config(default_config_dict(), CONFIG_COMMENTS, footer=CONFIG_FOOTER)


# ----------------------------------------------------------------------------------- plugins.disabled

_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_DISABLED_KEY = re.compile(r"^(\s*)disabled\s*=")


def _disabled_assignment(lines: list[str], start: int) -> tuple[int, int] | None:
    """(first, last) line index of ``disabled = [...]`` inside the table starting after ``start``."""
    for index in range(start + 1, len(lines)):
        if _TABLE_HEADER.match(lines[index]) or lines[index].lstrip().startswith("[["):
            return None
        if _DISABLED_KEY.match(lines[index]):
            # The value may span lines: take lines until the text so far parses as TOML.
            for end in range(index, len(lines)):
                try:
                    tomllib.loads("\n".join(lines[index:end + 1]))
                except tomllib.TOMLDecodeError:
                    continue
                return index, end
            return None
    return None


def set_disabled_plugins(path: Path, names: list[str]) -> Path:
    """Set ``[plugins] disabled`` of the config file at ``path`` to ``names``, editing the file in place.

    Only the ``disabled = ...`` assignment changes (or is added under ``[plugins]``, or a ``[plugins]``
    table is appended): the merchant's comments, order and formatting stay. The new text is checked to
    parse to the same config with only that key changed before it atomically replaces the file (mode
    kept); a layout this edit cannot handle safely (an inline ``plugins = {...}`` table, a dotted
    ``plugins.disabled`` key) raises :class:`ConfigError` asking for a hand edit. A missing file is
    created as ``config init`` would, with ``names`` disabled.
    """
    import tomli_w

    path = Path(path).expanduser()
    # One line, e.g. disabled = ["acme", "other"] (tomli-w would spread a list over several lines).
    value = "disabled = [" + ", ".join(tomli_w.dumps({"k": n})[4:].strip() for n in names) + "]"
    if not path.exists():
        config = default_config_dict()
        config["plugins"] = {"disabled": list(names)}
        return write_config(path, render_config(config, CONFIG_COMMENTS, footer=CONFIG_FOOTER))
    text = path.read_text(encoding="utf-8")
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, path, text) from None
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines)
                   if (m := _TABLE_HEADER.match(line)) and m.group(1).replace(" ", "") == "plugins"), None)
    if header is None:
        if "plugins" in before:
            raise ConfigError("plugins are configured in a form this command cannot edit safely; set "
                              f"disabled = {list(names)!r} under [plugins] by hand", path=path, key="plugins.disabled")
        lines += ([""] if lines and lines[-1].strip() else []) + ["[plugins]", value]
    else:
        span = _disabled_assignment(lines, header)
        if span is None:
            lines.insert(header + 1, value)
        else:
            first, last = span
            indent = _DISABLED_KEY.match(lines[first]).group(1)  # type: ignore[union-attr]
            comment = re.search(r"\]\s*(#.*)$", lines[last])  # keep a comment after the value
            lines[first:last + 1] = [indent + value + (f"  {comment.group(1)}" if comment else "")]
    new_text = newline.join(lines) + newline
    expected = dict(before)
    expected["plugins"] = {**before.get("plugins", {}), "disabled": list(names)}
    try:
        if tomllib.loads(new_text) != expected:
            raise ValueError
    except (tomllib.TOMLDecodeError, ValueError):
        raise ConfigError("could not edit plugins.disabled safely; set it by hand", path=path,
                          key="plugins.disabled") from None
    mode = path.stat().st_mode & 0o777
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml.tmp", dir=path.parent)
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(new_text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
