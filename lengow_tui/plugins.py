"""The plugin host: find connector plugins, load them in isolation, and keep a registry of connectors.

pluggy itself gives no error isolation (``load_setuptools_entrypoints`` lets the first broken plugin
take the host down, and a hook call stops at the first raising implementation), so this module has its
own loader, in the style of conda and llm:

- every entry point of the ``lengow_tui`` group is loaded on its own; a failure to import it is recorded
  (stage ``"import"``) and the others keep loading;
- each plugin is registered with a pluggy ``PluginManager`` and checked against the hookspecs; a bad
  hook implementation is recorded (stage ``"hook"``) and the plugin unregistered;
- ``register_connectors`` is called implementation by implementation, so a raising one (stage ``"hook"``)
  hides no other; what it returns must be a list of :class:`ConnectorSpec` whose ``check()`` is clean
  (stage ``"validation"``);
- a connector name registered twice is a stage ``"conflict"`` failure: both sides are disabled, except
  that a third-party plugin can never displace a first-party connector (distribution ``lengow-tui``).

Nothing here calls ``client_factory`` or touches the network: listing plugins is cheap and offline.

Environment:

``LENGOW_TUI_DISABLE_PLUGINS``
    ``1`` (or ``true``/``yes``/``on``/``all``): load no third-party plugin; first-party ones still load.
    Any other non-empty value is read as a comma-separated list of entry-point names to skip.
``LENGOW_TUI_STRICT_PLUGINS``
    ``1``: re-raise the first plugin failure instead of recording it (for plugin authors' CI).
``LENGOW_TUI_TRACE_PLUGINS``
    ``1``: log every hook call and every ``MarketplaceClient`` method call, with its duration and
    outcome, to the logger ``lengow_tui.plugins.trace`` (``lengow-tui --trace-plugins`` sets it and
    prints them on stderr). Arguments are never logged: they may hold secrets or personal data.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pluggy

from lengow_tui.connector_api.hookspecs import ENTRY_POINT_GROUP, PROJECT, ConnectorHooks
from lengow_tui.connector_api.spec import ConnectorSpec
from lengow_tui.domain import MarketplaceDeclaration

__all__ = [
    "DISABLE_ENV",
    "FIRST_PARTY_DISTRIBUTION",
    "STRICT_ENV",
    "TRACE_ENV",
    "InstalledPlugin",
    "LoadedConnector",
    "PluginFailure",
    "PluginLoadError",
    "Registry",
    "UnknownConnectorError",
    "get_registry",
    "installed_plugins",
    "is_first_party",
    "load_registry",
    "reset_registry_cache",
    "trace_enabled",
]

FIRST_PARTY_DISTRIBUTION = "lengow-tui"
DISABLE_ENV = "LENGOW_TUI_DISABLE_PLUGINS"
STRICT_ENV = "LENGOW_TUI_STRICT_PLUGINS"
TRACE_ENV = "LENGOW_TUI_TRACE_PLUGINS"

trace_log = logging.getLogger("lengow_tui.plugins.trace")

_TRUE = {"1", "true", "yes", "on", "all"}
_FALSE = {"", "0", "false", "no", "off"}
UNKNOWN = "unknown"


# --------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class LoadedConnector:
    """A connector that loaded cleanly, with where it came from."""

    spec: ConnectorSpec
    plugin: str  # entry point name
    distribution: str
    version: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def first_party(self) -> bool:
        return is_first_party(self.distribution)


@dataclass(frozen=True)
class PluginFailure:
    """A plugin (or one connector of it) that could not be used, and why."""

    plugin: str  # entry point name
    distribution: str
    version: str
    stage: str  # "import" | "hook" | "validation" | "conflict"
    error: str
    connector: str = ""  # the connector concerned, when known (validation, conflict)

    def describe(self) -> str:
        what = f"plugin {self.plugin!r} ({self.distribution} {self.version})"
        if self.connector:
            what += f", connector {self.connector!r}"
        return f"{what} failed at {self.stage}: {self.error}"


class PluginLoadError(RuntimeError):
    """Raised in strict mode (``LENGOW_TUI_STRICT_PLUGINS=1``) for a failure that is not an exception."""

    def __init__(self, failure: PluginFailure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


class UnknownConnectorError(LookupError):
    """No loaded connector has this name."""

    def __init__(self, name: str, known: Collection[str], reason: str = "") -> None:
        self.name = name
        self.known = tuple(sorted(known))
        self.reason = reason
        message = f"unknown connector {name!r}"
        if reason:
            message += f": {reason}"
        if self.known:
            message += f" (installed connectors: {', '.join(self.known)})"
        else:
            message += " (no connector is installed)"
        super().__init__(message)

    def __str__(self) -> str:  # LookupError/KeyError would quote the message
        return str(self.args[0])


@dataclass
class Registry:
    """The connectors available in this process, plus what failed or was skipped."""

    connectors: dict[str, LoadedConnector] = field(default_factory=dict)  # by connector name, sorted
    failures: list[PluginFailure] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)  # entry point names that were not loaded

    def spec(self, name: str) -> ConnectorSpec:
        loaded = self.connectors.get(name)
        if loaded is not None:
            return loaded.spec
        raise UnknownConnectorError(name, self.connectors, self._why_missing(name))

    def marketplace(self, connector: str, code: str) -> MarketplaceDeclaration | None:
        """The static declaration of marketplace ``code`` of ``connector``; ``None`` if either is unknown.

        Connectors with ``dynamic_marketplaces`` only know theirs at run time (not looked up here).
        """
        loaded = self.connectors.get(connector)
        if loaded is None:
            return None
        return loaded.spec.marketplace(code)

    def names(self) -> list[str]:
        return list(self.connectors)

    def _why_missing(self, name: str) -> str:
        for failure in self.failures:
            if failure.connector == name or (not failure.connector and failure.plugin == name):
                return (f"its plugin {failure.plugin!r} ({failure.distribution}) failed at {failure.stage}: "
                        f"{failure.error}")
        if name in self.disabled:
            return f"plugin {name!r} is disabled"
        return ""


# --------------------------------------------------------------------------------------------------
# Loading


def is_first_party(distribution: str) -> bool:
    return _normalize(distribution) == FIRST_PARTY_DISTRIBUTION


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _strict() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in _TRUE


def trace_enabled() -> bool:
    """Is plugin tracing on (``LENGOW_TUI_TRACE_PLUGINS=1``)?"""
    return os.environ.get(TRACE_ENV, "").strip().lower() in _TRUE


def _env_disabled() -> tuple[bool, set[str]]:
    """(disable every third-party plugin?, entry-point names to skip)."""
    raw = os.environ.get(DISABLE_ENV, "").strip()
    if raw.lower() in _TRUE:
        return True, set()
    if raw.lower() in _FALSE:
        return False, set()
    return False, {part.strip() for part in raw.split(",") if part.strip()}


def _error_text(exc: BaseException) -> str:
    text = re.sub(r"\s*\n\s*", " ", str(exc)).strip()  # one line: it is shown in lists and tables
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class _Candidate:
    plugin: str
    distribution: str
    version: str
    pm_name: str
    obj: Any = None


class _Loader:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(ConnectorHooks)
        self.strict = _strict()
        self.trace = trace_enabled()
        if self.trace:
            # Hooks the host calls through pluggy (pm.hook.<name>(...)); register_connectors is called
            # implementation by implementation in collect(), which traces it itself.
            starts: dict[str, float] = {}

            def before(hook_name: str, impls: Any, kwargs: Any) -> None:
                starts[hook_name] = time.perf_counter()
                trace_log.debug("hook %s: calling %d implementation(s)", hook_name, len(impls))

            def after(outcome: Any, hook_name: str, impls: Any, kwargs: Any) -> None:
                elapsed = (time.perf_counter() - starts.pop(hook_name, time.perf_counter())) * 1000
                failed = outcome.exception is not None
                trace_log.debug("hook %s: %s in %.1f ms", hook_name,
                                f"raised {type(outcome.exception).__name__}" if failed else "returned", elapsed)

            self.pm.add_hookcall_monitoring(before, after)
        self.failures: list[PluginFailure] = []
        self.by_pm_name: dict[str, _Candidate] = {}

    def fail(self, who: _Candidate, stage: str, error: str, *, connector: str = "",
             exc: BaseException | None = None) -> None:
        failure = PluginFailure(who.plugin, who.distribution, who.version, stage, error, connector)
        if self.strict:
            if exc is not None:
                raise exc
            raise PluginLoadError(failure)
        self.failures.append(failure)

    def _pm_name(self, plugin: str, distribution: str) -> str:
        if plugin not in self.by_pm_name and self.pm.get_plugin(plugin) is None:
            return plugin
        base = f"{plugin}@{distribution}"
        name, n = base, 1
        while name in self.by_pm_name or self.pm.get_plugin(name) is not None:
            n += 1
            name = f"{base}#{n}"
        return name

    def add(self, plugin: str, distribution: str, version: str, load: Any) -> None:
        """Load (``load()`` returns the plugin object) and register one plugin, recording any failure."""
        who = _Candidate(plugin, distribution, version, self._pm_name(plugin, distribution))
        try:
            who.obj = load()
        except (Exception, SystemExit) as exc:  # a plugin calling sys.exit() at import must not end us
            self.fail(who, "import", _error_text(exc), exc=exc)
            return
        try:
            self.pm.register(who.obj, name=who.pm_name)
        except (Exception, SystemExit) as exc:  # pluggy.PluginValidationError, ValueError (registered twice)
            self._rollback(who)
            self.fail(who, "hook", _error_text(exc), exc=exc)
            return
        self.by_pm_name[who.pm_name] = who
        try:
            # Flags hook implementations that match no hookspec (typo in the hook name, ...).
            self.pm.check_pending()
        except (Exception, SystemExit) as exc:
            self._rollback(who)
            del self.by_pm_name[who.pm_name]
            self.fail(who, "hook", _error_text(exc), exc=exc)
            return
        if not self.pm.get_hookcallers(who.obj):
            self._rollback(who)
            del self.by_pm_name[who.pm_name]
            self.fail(
                who,
                "hook",
                f"implements no {PROJECT} hook: expected a function `register_connectors()` "
                "decorated with `lengow_tui.connector_api.hookimpl`",
            )

    def _rollback(self, who: _Candidate) -> None:
        """Undo a partial registration (older pluggy versions register hookimpls before validating them)."""
        try:
            if self.pm.get_plugin(who.pm_name) is who.obj and who.obj is not None:
                self.pm.unregister(name=who.pm_name)
        except Exception:  # nothing more we can do; collect() ignores plugins it did not accept anyway
            pass

    def collect(self) -> list[tuple[_Candidate, ConnectorSpec]]:
        """Call every ``register_connectors`` implementation on its own and validate what it returns."""
        found: list[tuple[_Candidate, ConnectorSpec]] = []
        for impl in self.pm.hook.register_connectors.get_hookimpls():
            who = self.by_pm_name.get(impl.plugin_name)
            if who is None:  # not registered by us; cannot happen, but never crash the host for it
                continue
            if impl.hookwrapper or impl.wrapper:
                self.fail(who, "hook",
                          "register_connectors must be a plain hook implementation, not a wrapper")
                continue
            started = time.perf_counter()
            try:
                result = impl.function()
            except (Exception, SystemExit) as exc:
                if self.trace:
                    trace_log.debug("hook register_connectors of plugin %s: raised %s in %.1f ms", who.plugin,
                                    type(exc).__name__, (time.perf_counter() - started) * 1000)
                self.fail(who, "hook", f"register_connectors raised {_error_text(exc)}", exc=exc)
                continue
            if self.trace:
                count = len(result) if isinstance(result, (list, tuple)) else type(result).__name__
                trace_log.debug("hook register_connectors of plugin %s (%s %s): returned %s in %.1f ms",
                                who.plugin, who.distribution, who.version, count,
                                (time.perf_counter() - started) * 1000)
            if isinstance(result, ConnectorSpec):
                self.fail(who, "validation",
                          "register_connectors returned a single ConnectorSpec; return a list of them",
                          connector=_safe_name(result))
                continue
            if not isinstance(result, (list, tuple)):
                hint = " (missing `return [...]`?)" if result is None else ""
                self.fail(who, "validation",
                          f"register_connectors returned {type(result).__name__}{hint}; "
                          "expected a list of ConnectorSpec")
                continue
            for index, item in enumerate(result):
                if not isinstance(item, ConnectorSpec):
                    self.fail(who, "validation",
                              f"register_connectors returned {type(item).__name__} at position {index}; "
                              "expected ConnectorSpec")
                    continue
                try:
                    problems = item.check()
                except (Exception, SystemExit) as exc:
                    self.fail(who, "validation", f"the connector cannot be checked: {_error_text(exc)}",
                              connector=_safe_name(item), exc=exc)
                    continue
                if problems:
                    self.fail(who, "validation", "; ".join(problems), connector=_safe_name(item))
                    continue
                found.append((who, item))
        return found

    def resolve(self, found: list[tuple[_Candidate, ConnectorSpec]]) -> dict[str, LoadedConnector]:
        """Settle connector-name clashes. First-party wins over third-party; otherwise all sides lose."""
        by_name: dict[str, list[tuple[_Candidate, ConnectorSpec]]] = {}
        for who, spec in found:
            by_name.setdefault(spec.name, []).append((who, spec))
        # Names a broken first-party plugin would have provided: a third-party plugin must not take them.
        reserved = {f.plugin for f in self.failures if is_first_party(f.distribution)}
        reserved |= {f.connector for f in self.failures if is_first_party(f.distribution) and f.connector}
        connectors: dict[str, LoadedConnector] = {}
        for name in sorted(by_name):
            entries = by_name[name]
            first = [e for e in entries if is_first_party(e[0].distribution)]
            if len(entries) == 1:
                who, spec = entries[0]
                if not first and name in reserved:
                    self.fail(
                        who, "conflict",
                        f"connector name {name!r} belongs to a built-in connector of "
                        f"{FIRST_PARTY_DISTRIBUTION}, which failed to load; this connector from "
                        f"{_dist(who)} is disabled rather than taking its place",
                        connector=name,
                    )
                    continue
                connectors[name] = LoadedConnector(spec, who.plugin, who.distribution, who.version)
                continue
            if len(first) == 1:
                keeper_who, keeper_spec = first[0]
                connectors[name] = LoadedConnector(keeper_spec, keeper_who.plugin, keeper_who.distribution,
                                                   keeper_who.version)
                for who, _spec in entries:
                    if who is keeper_who:
                        continue
                    self.fail(
                        who, "conflict",
                        f"connector name {name!r} is already taken by the built-in connector of "
                        f"{_dist(keeper_who)}; this one from {_dist(who)} is disabled "
                        "(rename the connector)",
                        connector=name,
                    )
                continue
            sides = ", ".join(dict.fromkeys(_dist(who) for who, _ in entries))
            reported: set[str] = set()
            for who, _spec in entries:
                if who.pm_name in reported:
                    continue
                reported.add(who.pm_name)
                others = [w for w, _ in entries if w is not who]
                if not others:
                    message = (f"connector name {name!r} is registered more than once by {_dist(who)}; "
                               "all of them are disabled")
                else:
                    message = (f"connector name {name!r} is registered by several plugins ({sides}); "
                               "all of them are disabled until only one is installed")
                self.fail(who, "conflict", message, connector=name)
        return connectors


def _dist(who: _Candidate) -> str:
    return f"{who.distribution} {who.version} (plugin {who.plugin!r})"


def _safe_name(spec: Any) -> str:
    name = getattr(spec, "name", "")
    return name if isinstance(name, str) else repr(name)


def load_registry(
    *,
    disabled: Collection[str] = (),
    extra_plugins: Sequence[tuple[Any, ...]] = (),
    use_entry_points: bool = True,
) -> Registry:
    """Load every connector plugin and return the registry. Never raises for a plugin's fault
    (unless ``LENGOW_TUI_STRICT_PLUGINS=1``).

    ``disabled``: entry-point (plugin) names not to load.
    ``extra_plugins``: in-process plugins, each ``(name, module_or_object)``, optionally followed by a
    distribution name and version (default ``"unknown"``, i.e. third-party). They are not subject to
    ``LENGOW_TUI_DISABLE_PLUGINS`` (the caller asked for them) but are to ``disabled``.
    ``use_entry_points``: ``False`` loads only ``extra_plugins`` (tests).
    """
    skip = set(disabled)
    loader = _Loader()
    skipped: list[str] = []

    if use_entry_points:
        from importlib.metadata import entry_points

        no_third_party, env_skip = _env_disabled()
        eps = sorted(
            entry_points(group=ENTRY_POINT_GROUP),
            key=lambda ep: (ep.name, _ep_dist(ep)[0]),
        )
        for ep in eps:
            distribution, version = _ep_dist(ep)
            third_party = not is_first_party(distribution)
            if ep.name in skip or ep.name in env_skip or (no_third_party and third_party):
                skipped.append(ep.name)
                continue
            loader.add(ep.name, distribution, version, ep.load)

    for extra in extra_plugins:
        name, obj = extra[0], extra[1]
        distribution = str(extra[2]) if len(extra) > 2 else UNKNOWN
        version = str(extra[3]) if len(extra) > 3 else UNKNOWN
        if name in skip:
            skipped.append(name)
            continue
        loader.add(name, distribution, version, lambda obj=obj: obj)

    found = loader.collect()
    connectors = loader.resolve(found)
    if loader.trace:
        connectors = {name: replace(c, spec=traced_spec(c.spec)) for name, c in connectors.items()}
    return Registry(connectors=connectors, failures=loader.failures, disabled=sorted(set(skipped)))


@dataclass(frozen=True)
class InstalledPlugin:
    """An entry point of the ``lengow_tui`` group, read from package metadata without importing it."""

    name: str
    value: str  # the module (or module:object) it names
    distribution: str
    version: str

    @property
    def first_party(self) -> bool:
        return is_first_party(self.distribution)


def installed_plugins() -> list[InstalledPlugin]:
    """Every installed plugin, by name. Imports no plugin: works even when one crashes on import."""
    from importlib.metadata import entry_points

    found = [InstalledPlugin(ep.name, ep.value, *_ep_dist(ep)) for ep in entry_points(group=ENTRY_POINT_GROUP)]
    return sorted(found, key=lambda p: (p.name, p.distribution))


def _ep_dist(ep: Any) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return UNKNOWN, UNKNOWN
    try:
        name = dist.metadata["Name"] or getattr(dist, "name", None) or UNKNOWN
        version = dist.version or UNKNOWN
    except Exception:  # broken METADATA must not stop the loader
        return UNKNOWN, UNKNOWN
    return str(name), str(version)


# --------------------------------------------------------------------------------------------------
# Process-wide cache

_cache: Registry | None = None
_cache_lock = threading.Lock()


def get_registry(*, disabled: Collection[str] = ()) -> Registry:
    """The registry of this process, loaded once. ``disabled`` is only used by the first call."""
    global _cache
    with _cache_lock:
        if _cache is None:
            _cache = load_registry(disabled=disabled)
        return _cache


def reset_registry_cache() -> None:
    global _cache
    with _cache_lock:
        _cache = None


# --------------------------------------------------------------------------------------------------
# Tracing (LENGOW_TUI_TRACE_PLUGINS=1)


def traced_spec(spec: ConnectorSpec) -> ConnectorSpec:
    """``spec`` whose ``client_factory`` builds clients that log every call (see :class:`_TracedClient`)."""
    factory = spec.client_factory

    def traced_factory(ctx: Any) -> Any:
        started = time.perf_counter()
        client = factory(ctx)
        trace_log.debug("connector %s, channel %s: client built in %.1f ms", spec.name, ctx.channel,
                        (time.perf_counter() - started) * 1000)
        return _traced_client(client, spec.name, ctx.channel)

    return replace(spec, client_factory=traced_factory)


def _traced_client(inner: Any, connector: str, channel: str) -> Any:
    from lengow_tui.connector_api.client import MarketplaceClient

    class _TracedClient(MarketplaceClient):
        """Logs each call: method, connector, channel, duration and outcome -- never the arguments or
        results themselves (orders hold personal data; configs hold secrets). Everything else is the
        wrapped client's."""

        def __getattr__(self, name: str) -> Any:  # connector-specific attributes (tests use them)
            return getattr(inner, name)

        def _log(self, method: str, started: float, outcome: str) -> None:
            trace_log.debug("connector %s, channel %s: %s -> %s in %.1f ms", connector, channel, method, outcome,
                            (time.perf_counter() - started) * 1000)

        async def _call(self, method: str, describe: Any, *args: Any) -> Any:
            started = time.perf_counter()
            try:
                result = await getattr(inner, method)(*args)
            except BaseException as exc:
                self._log(method, started, f"raised {type(exc).__name__}")
                raise
            self._log(method, started, describe(result))
            return result

        async def check(self) -> Any:
            return await self._call("check", lambda r: "ok" if getattr(r, "ok", False) else "not ok")

        async def fetch_orders(self, cursor: str | None) -> Any:  # type: ignore[override]
            started = time.perf_counter()
            pages = orders = 0
            try:
                async for page in inner.fetch_orders(cursor):
                    pages += 1
                    orders += page.size
                    self._log(f"fetch_orders page {pages}", started, f"{page.size} order(s)")
                    yield page
            except BaseException as exc:
                self._log("fetch_orders", started, f"raised {type(exc).__name__} after {pages} page(s)")
                raise
            self._log("fetch_orders", started, f"done: {pages} page(s), {orders} order(s)")

        async def get_order(self, marketplace: str, order_id: str) -> Any:
            return await self._call("get_order", lambda r: "not found" if r is None else "found",
                                    marketplace, order_id)

        async def perform(self, request: Any) -> Any:
            kind = str(getattr(request, "kind", "?"))
            return await self._call("perform", lambda r: f"{kind}: {getattr(r, 'outcome', r)}", request)

        async def poll(self, handle: str) -> Any:
            return await self._call("poll", lambda r: str(getattr(r, "outcome", r)), handle)

        async def fetch_marketplaces(self) -> Any:
            return await self._call("fetch_marketplaces", lambda r: f"{len(r)} marketplace(s)")

        async def list_documents(self, marketplace: str, order_id: str) -> Any:
            return await self._call("list_documents", lambda r: f"{len(r)} document(s)", marketplace, order_id)

        async def fetch_document(self, marketplace: str, order_id: str, document: Any) -> Any:
            return await self._call("fetch_document", lambda r: f"{len(getattr(r, 'data', b''))} bytes",
                                    marketplace, order_id, document)

        async def aclose(self) -> None:
            await self._call("aclose", lambda r: "closed")

    return _TracedClient()
