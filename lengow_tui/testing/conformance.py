"""``ConnectorConformance``: the conformance test suite a connector author subclasses.

Modelled on Meltano's tap test-class factory and Airbyte's acceptance tests: the author provides the
connector and a marketplace to run it against (an emulator, or recorded fixtures served by one); the kit
runs the same checks the host relies on. Each check is one pytest test, named ``test_<check>``; its
failure message says what to fix. See docs/connector-guide.md, "Testing with the kit".
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal, NoReturn, TypeVar

import httpx
import pytest

from lengow_tui.domain.statuses import shows_effect
from lengow_tui.connector_api import (
    ENTRY_POINT_GROUP,
    ActionKind,
    ActionOutcome,
    ActionRequest,
    ActionResult,
    CheckResult,
    ClientContext,
    ConnectorSpec,
    ListedOrder,
    MalformedResponseError,
    MarketplaceClient,
    MarketplaceDeclaration,
    OrderPage,
    RemoteOrder,
    Status,
)
from lengow_tui.testing import checks
from lengow_tui.testing.checks import ActionCase

__all__ = ["CHECKS", "ConnectorConformance", "Fault", "KitEnvironment", "RecordingTransport"]

T = TypeVar("T")

MAX_PAGES = 10_000  # a fetch_orders that never ends is a bug; stop and say so
MAX_POLLS = 20


@dataclass
class KitEnvironment:
    """A marketplace the kit can talk to, as returned by :meth:`ConnectorConformance.marketplace`.

    ``config``: a channel config that works against it (what a merchant would write), secrets included.
    ``handle``: anything the author's hooks need later (the emulator object, a fake clock...).
    ``now``: the clock given to clients as ``ClientContext.now`` (default: the real one).
    ``state_dir``: the client's private directory (default: a fresh temporary directory).
    """

    config: Mapping[str, Any]
    handle: Any = None
    now: Callable[[], datetime] | None = None
    state_dir: Path | None = None


@dataclass(frozen=True)
class Fault:
    """What :meth:`ConnectorConformance.inject_fault` must make the marketplace do on the next call(s)
    for ``request``: answer HTTP 429 with ``Retry-After: <retry_after>`` seconds (``rate_limited``), or
    answer ``status`` (a 5xx) without applying anything (``server_error``)."""

    kind: Literal["rate_limited", "server_error"]
    request: ActionRequest
    retry_after: float = 30.0
    status: int = 503


class RecordingTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` transport that records every request and answers 599; no request leaves the process.

    Given to a client for an action it does not declare: the client must answer ``not_supported``
    without calling the marketplace. With ``forward`` (a transport to the real marketplace), requests
    go through until :meth:`close_gate` is called; only the later ones are recorded and refused (the
    kit lets a ``dynamic_marketplaces`` client read its declarations first).
    """

    def __init__(self, forward: httpx.AsyncBaseTransport | None = None) -> None:
        self.requests: list[tuple[str, str]] = []
        self._forward = forward

    def close_gate(self) -> None:
        """From now on, record and refuse every request."""
        self._forward = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._forward is not None:
            return await self._forward.handle_async_request(request)
        self.requests.append((request.method, request.url.path))
        return httpx.Response(599, json={"error": "the conformance kit does not let this call out"})


CHECKS: tuple[str, ...] = (
    "declaration_spec_is_valid",
    "declaration_fetched_marketplaces",
    "declaration_status_map",
    "declaration_actions",
    "declaration_arguments",
    "declaration_secret_fields",
    "import_does_no_io",
    "entry_point",
    "check_good_config",
    "check_bad_credentials",
    "pull_records_validate",
    "pull_ids_unique",
    "pull_listed_load",
    "pull_second_read_is_empty",
    "pull_resume_from_middle_cursor",
    "pull_unknown_status_does_not_raise",
    "action_applied_reaches_result_status",
    "action_replay_not_applied_twice",
    "action_rate_limited",
    "action_server_error_retryable",
    "action_wrong_state_rejected",
    "action_undeclared_not_supported",
    "documents_fetchable",
    "hygiene_logs",
)
"""Every check of the kit, by name; a test ``test_<name>`` runs each one."""


class _Unavailable(Exception):
    """A hook the check needs is not implemented (NotImplementedError from the default hook)."""


class _LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken format string is still a record we must search
            text = f"{record.msg!r} {record.args!r}"
        parts = [f"{record.name} {record.levelname}: {text}"]
        if record.exc_info and record.exc_info[1] is not None:
            parts.append(repr(record.exc_info[1]))
        if record.exc_text:
            parts.append(record.exc_text)
        self.texts.append(" | ".join(parts))


@contextmanager
def _capture_logs() -> Iterator[_LogCapture]:
    root = logging.getLogger()
    handler = _LogCapture()
    old_level = root.level
    # Loggers that set their own level (e.g. WARNING) would hide DEBUG records from us.
    quiet = [(lg, lg.level) for lg in logging.Logger.manager.loggerDict.values()
             if isinstance(lg, logging.Logger) and lg.level > logging.DEBUG]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for lg, _ in quiet:
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for lg, level in quiet:
            lg.setLevel(level)


def _fmt(result: ActionResult) -> str:
    extra = f" after {result.retry_after}s" if result.retry_after is not None else ""
    return f"{result.outcome.value}{extra} ({result.message!r})" if result.message else f"{result.outcome.value}{extra}"


class ConnectorConformance:
    """Subclass this in a test module (the subclass's name must start with ``Test``) to run the kit.

    Required: :attr:`spec` and :meth:`marketplace`. Everything else has a default; a check whose hook is
    not implemented fails and says which hook to write, unless :attr:`skip_reasons` gives a written
    reason to skip it (``strict = False`` skips instead, still with the kit's reason in the report).
    """

    # --- what the author sets -----------------------------------------------------------------------

    spec: ClassVar[ConnectorSpec]
    """The connector under test (what your ``register_connectors`` returns)."""

    plugin_module: ClassVar[str | None] = None
    """The module your entry point names; default: the module that defines ``spec.client_factory``."""

    entry_point_name: ClassVar[str | None] = None
    """The name of your entry point in the ``lengow_tui`` group (checked when set)."""

    strict: ClassVar[bool] = True
    """Missing hooks fail (True) or skip with the kit's reason (False). Skips always carry a reason."""

    skip_reasons: ClassVar[Mapping[str, str]] = {}
    """Check name (see :data:`CHECKS`) -> why it does not apply to this connector. Shown by pytest."""

    expected_failures: ClassVar[Mapping[str, str]] = {}
    """Check name -> the known problem: the check runs and must fail (strict xfail) until it is fixed."""

    http_timeout: ClassVar[float] = 5.0
    """Timeout of the ``httpx.AsyncClient`` the kit gives clients, like the host's."""

    check_timeout: ClassVar[float] = 120.0
    """Seconds one check may take before the kit gives up on it."""

    # --- hooks --------------------------------------------------------------------------------------

    def marketplace(self, tmp_path: Path) -> AbstractContextManager[KitEnvironment | Mapping[str, Any]]:
        """Start the marketplace the checks run against; return a context manager that yields a
        :class:`KitEnvironment` (or just the good config) and stops it on exit. Each check gets a fresh
        one, so checks cannot disturb each other. Required."""
        raise NotImplementedError

    def bad_credentials(self, env: KitEnvironment) -> Mapping[str, Any]:
        """A config the marketplace refuses (wrong credentials). Default: every secret field replaced
        with a wrong value; connectors without secret fields must override it or skip the check."""
        secret = [f.name for f in self.spec.config_fields if f.secret]
        if not secret:
            raise _Unavailable("the connector has no secret config field, so the kit cannot make wrong "
                               "credentials: override bad_credentials(env)")
        return {**env.config, **{name: "kit-wrong-credential-0000" for name in secret}}

    def inject_fault(self, env: KitEnvironment, fault: Fault) -> None:
        """Make the marketplace answer the next call for ``fault.request`` with HTTP 429 (``Retry-After:
        fault.retry_after``) or ``fault.status``, without applying the action."""
        raise _Unavailable("implement inject_fault(env, fault) to make the emulator answer 429 or 5xx")

    def applications(self, env: KitEnvironment, request: ActionRequest) -> int:
        """How many times the marketplace applied ``request``'s change to its order (from the
        emulator's ledger of actions)."""
        raise _Unavailable("implement applications(env, request) from the emulator's action ledger, so the "
                           "kit can see whether a replay was applied twice")

    def plant_unknown_status(self, env: KitEnvironment) -> None:
        """Give at least one order a raw status the status map does not know, in the marketplace."""
        raise _Unavailable("implement plant_unknown_status(env) to give an order a raw status the "
                           "declaration does not map")

    def settle(self, env: KitEnvironment) -> None:
        """Let time pass so asynchronous (``pending``) actions get processed; called between polls.
        Default: nothing (override it when your marketplace has a clock, e.g. advance a fake one)."""

    def action_cases(self, orders: Sequence[RemoteOrder]) -> list[ActionCase]:
        """The actions the action checks send: default, for every pulled marketplace and declared action,
        one order in a status the action is allowed from, with arguments that pass validation.
        (Look declarations up with :meth:`declaration`, which knows fetched ones too.)"""
        cases: list[ActionCase] = []
        used: set[tuple[str, str]] = set()
        for code in checks.marketplaces_of(orders):
            declaration = self.declaration(code)
            if declaration is None:
                continue
            mine = [o for o in orders if o.marketplace == code]
            for action in declaration.actions:
                for order in mine:
                    if (code, order.order_id) in used:
                        continue
                    if checks.resolve_status(declaration, order) not in action.allowed_from:
                        continue
                    built = checks.build_arguments(declaration, action, order)
                    if built is None:
                        continue
                    cases.append(ActionCase(declaration, action, order, built[0], built[1]))
                    used.add((code, order.order_id))
                    break
        return cases

    # --- declarations -------------------------------------------------------------------------------

    _fetched: tuple[MarketplaceDeclaration, ...] | None = None  # per test instance: what fetch_marketplaces gave
    _fetched_answer: object = None

    def declarations(self) -> tuple[MarketplaceDeclaration, ...]:
        """The marketplace declarations the host would use: ``spec.marketplaces`` and, for a connector with
        ``dynamic_marketplaces``, those its client's ``fetch_marketplaces()`` returned against the
        marketplace of the current check (a static declaration wins over a fetched one with its code;
        fetched ones with problems are left out, as the host does)."""
        found = {d.code: d for d in self._fetched or ()}
        found.update({d.code: d for d in self.spec.marketplaces})
        return tuple(found.values())

    def declaration(self, code: str) -> MarketplaceDeclaration | None:
        """The declaration of marketplace ``code`` among :meth:`declarations`, or ``None``."""
        return next((d for d in self.declarations() if d.code == code), None)

    def _fetch_declarations(self, run: Callable[..., Any]) -> None:
        """Ask the connector's client for its marketplaces (``dynamic_marketplaces``), as the host does
        before importing; keep what the host would keep."""
        async def go(env: KitEnvironment, client: MarketplaceClient) -> object:
            try:
                return await client.fetch_marketplaces()
            except NotImplementedError as exc:
                raise AssertionError(
                    "the spec sets dynamic_marketplaces=True but the client does not implement "
                    "fetch_marketplaces(): return the declarations read from the platform (the kit checks "
                    "actions, statuses and orders against them)") from exc
            except Exception as exc:
                raise AssertionError(
                    f"fetch_marketplaces() raised {type(exc).__name__}: {exc} against the kit's marketplace: "
                    "the host cannot import or validate any action without the declarations") from exc
        answer = run(go)
        self._fetched_answer = answer
        kept: dict[str, MarketplaceDeclaration] = {}
        for declaration in answer if isinstance(answer, (list, tuple)) else ():
            if isinstance(declaration, MarketplaceDeclaration) and not declaration.check():
                kept.setdefault(declaration.code, declaration)
        self._fetched = tuple(kept.values())

    def _declarations_to_check(self, tmp_path: Path) -> tuple[MarketplaceDeclaration, ...]:
        """What the declaration checks look at: the static declarations, plus (dynamic connectors) every
        declaration fetched from a fresh marketplace, problems included."""
        if not self.spec.dynamic_marketplaces:
            return tuple(self.spec.marketplaces)
        with self._session(tmp_path):
            answer = self._fetched_answer
        fetched = [d for d in answer if isinstance(d, MarketplaceDeclaration)] \
            if isinstance(answer, (list, tuple)) else []
        static = {d.code for d in self.spec.marketplaces}
        return tuple(self.spec.marketplaces) + tuple(d for d in fetched if d.code not in static)

    # --- machinery ----------------------------------------------------------------------------------

    @classmethod
    def _check_name(cls, name: str) -> str:
        if name not in CHECKS:
            raise AssertionError(f"internal: unknown check {name!r}")
        return name

    def _skip_or_fail(self, check: str, why: str) -> NoReturn:
        reason = self.skip_reasons.get(check)
        if reason and reason.strip():
            pytest.skip(f"{check}: {reason.strip()}")
        if self.strict:
            pytest.fail(f"{check} cannot run: {why}. Or, if it does not apply to this connector, add "
                        f"skip_reasons = {{{check!r}: '<why>'}} to {type(self).__name__}.", pytrace=False)
        pytest.skip(f"{check} not checked: {why}")

    def _begin(self, check: str) -> None:
        self._check_name(check)
        if check in self.skip_reasons:
            reason = self.skip_reasons[check]
            if not isinstance(reason, str) or not reason.strip():
                pytest.fail(f"skip_reasons[{check!r}] is empty: write why this check does not apply",
                            pytrace=False)
            pytest.skip(f"{check}: {reason.strip()}")

    def _run(self, check: str, body: Callable[[], None]) -> None:
        self._begin(check)
        known = self.expected_failures.get(check)
        if known is None:
            try:
                body()
            except _Unavailable as exc:
                self._skip_or_fail(check, str(exc))
            except AssertionError as exc:
                # The message says what to fix; the kit's own source lines would only hide it.
                pytest.fail(f"{check}: {exc}", pytrace=False)
            return
        try:
            body()
        except _Unavailable as exc:
            self._skip_or_fail(check, str(exc))
        except (Exception, pytest.fail.Exception) as exc:
            first_line = " ".join(str(exc).strip().splitlines()[:2])[:400]
            pytest.xfail(f"known problem: {known} (the check says: {type(exc).__name__}: {first_line})")
        pytest.fail(f"{check} passes now: remove it from expected_failures of {type(self).__name__}",
                    pytrace=False)

    def _async(self, make: Callable[[], Awaitable[T]]) -> T:
        async def bounded() -> T:
            return await asyncio.wait_for(make(), self.check_timeout)  # type: ignore[arg-type]

        try:
            return asyncio.run(bounded())
        except TimeoutError:
            pytest.fail(f"the check took more than {self.check_timeout}s: a call hangs (a missing timeout?)",
                        pytrace=False)

    @contextmanager
    def _environment(self, tmp_path: Path) -> Iterator[KitEnvironment]:
        try:
            manager = self.marketplace(tmp_path)
        except NotImplementedError:
            pytest.fail(f"{type(self).__name__} must implement marketplace(tmp_path): a context manager that "
                        "starts your emulator and yields KitEnvironment(config=...)", pytrace=False)
        with manager as value:
            env = value if isinstance(value, KitEnvironment) else KitEnvironment(config=dict(value))
            if env.state_dir is None:
                env.state_dir = tmp_path / "connector-state"
            env.state_dir.mkdir(parents=True, exist_ok=True)
            yield env

    def _client(self, env: KitEnvironment, http: httpx.AsyncClient | None,
                config: Mapping[str, Any] | None = None) -> MarketplaceClient:
        assert env.state_dir is not None
        ctx = ClientContext(channel="kit", config=dict(env.config if config is None else config), http=http,
                            state_dir=env.state_dir, **({"now": env.now} if env.now else {}))
        client = self.spec.client_factory(ctx)
        assert isinstance(client, MarketplaceClient), (
            f"client_factory returned {type(client).__name__}; it must return a MarketplaceClient subclass")
        return client

    @contextmanager
    def _session(self, tmp_path: Path, *, fetch: bool = True
                 ) -> Iterator[tuple[KitEnvironment, Callable[..., Awaitable[Any]]]]:
        """An environment, and a runner that calls ``fn(env, client)`` inside an event loop with the
        host-like HTTP client. For a ``dynamic_marketplaces`` connector the declarations are fetched
        first (``fetch``), with a client of their own, as the host does before an import."""
        with self._environment(tmp_path) as env:
            def run(fn: Callable[[KitEnvironment, MarketplaceClient], Awaitable[T]],
                    config: Mapping[str, Any] | None = None) -> T:
                async def go() -> T:
                    async with httpx.AsyncClient(timeout=httpx.Timeout(self.http_timeout)) as http:
                        client = self._client(env, http, config)
                        try:
                            return await fn(env, client)
                        finally:
                            await client.aclose()

                return self._async(go)

            if fetch and self.spec.dynamic_marketplaces:
                self._fetch_declarations(run)
            yield env, run  # type: ignore[misc]

    async def _pages(self, client: MarketplaceClient, cursor: str | None, *, load: bool = True) -> list[OrderPage]:
        """The pages of a read; with ``load``, a page that lists orders comes with every listed order
        loaded into ``orders`` (as the host would store them), so the checks see every order."""
        pages: list[OrderPage] = []
        async for page in client.fetch_orders(cursor):
            assert isinstance(page, OrderPage), (
                f"fetch_orders yielded a {type(page).__name__}; yield OrderPage(orders, cursor) objects")
            if load and page.listed:
                page = OrderPage(page.orders + await self._load(page, page.listed), page.cursor)
            pages.append(page)
            if len(pages) > MAX_PAGES:
                raise AssertionError(f"fetch_orders yielded more than {MAX_PAGES} pages without ending: stop "
                                     "when the marketplace has nothing more after the cursor")
        return pages

    @staticmethod
    async def _load(page: OrderPage, wanted: Sequence[ListedOrder]) -> tuple[RemoteOrder, ...]:
        try:
            return await page.load_listed(wanted)
        except MalformedResponseError as exc:
            raise AssertionError(str(exc)) from None

    async def _pull(self, client: MarketplaceClient, cursor: str | None = None) -> list[RemoteOrder]:
        return [o for page in await self._pages(client, cursor) for o in page.orders]

    async def _final(self, env: KitEnvironment, client: MarketplaceClient,
                     request: ActionRequest) -> tuple[ActionResult, ActionResult]:
        """(first answer, final answer): a ``pending`` answer is polled (letting time pass) until final."""
        first = await client.perform(request)
        assert isinstance(first, ActionResult), (
            f"perform returned {type(first).__name__}; return an ActionResult (ActionResult.applied(), ...)")
        result = first
        for _ in range(MAX_POLLS):
            if result.outcome != ActionOutcome.PENDING:
                break
            assert result.handle, "perform answered pending without a handle: ActionResult.pending(handle)"
            await asyncio.to_thread(self.settle, env)
            result = await client.poll(result.handle)
        return first, result

    def _cases(self, orders: Sequence[RemoteOrder], check: str) -> list[ActionCase]:
        cases = self.action_cases(orders)
        if not cases:
            raise _Unavailable("no pulled order is in a status any declared action is allowed from (with "
                               "arguments that pass validation); make the emulator serve such orders, or "
                               "override action_cases(orders)")
        return cases

    @staticmethod
    def _new_request(case: ActionCase) -> ActionRequest:
        return ActionRequest(action_id=f"kit-{uuid.uuid4().hex[:12]}", kind=case.action.kind,
                             marketplace=case.declaration.code, order_id=case.order.order_id,
                             arguments=dict(case.arguments), lines=case.lines)

    @staticmethod
    def _report(problems: Sequence[str], headline: str) -> None:
        if problems:
            shown = list(dict.fromkeys(problems))
            more = f"\n  ... and {len(shown) - 30} more" if len(shown) > 30 else ""
            pytest.fail(f"{headline}:\n  - " + "\n  - ".join(shown[:30]) + more, pytrace=False)

    def _secrets(self, config: Mapping[str, Any]) -> set[str]:
        names = {f.name for f in self.spec.config_fields if f.secret}
        return {str(v) for k, v in config.items() if k in names and isinstance(v, str) and len(v) >= 4}

    # --- declaration --------------------------------------------------------------------------------

    def test_declaration_spec_is_valid(self) -> None:
        """``ConnectorSpec.check()`` finds nothing: the host refuses to load a connector that has problems."""
        def body() -> None:
            assert isinstance(self.spec, ConnectorSpec), (
                f"{type(self).__name__}.spec must be the ConnectorSpec your register_connectors returns")
            self._report(self.spec.check(), "the host would refuse this connector (ConnectorSpec.check())")
        self._run("declaration_spec_is_valid", body)

    def test_declaration_fetched_marketplaces(self, tmp_path: Path) -> None:
        """``dynamic_marketplaces``: ``fetch_marketplaces()`` against the marketplace returns a non-empty list
        of valid declarations, one per code (the host leaves out any with problems)."""
        def body() -> None:
            if not self.spec.dynamic_marketplaces:
                pytest.skip("the connector declares its marketplaces in the spec (dynamic_marketplaces=False)")
            with self._session(tmp_path):
                answer = self._fetched_answer
            self._report(checks.fetched_declaration_problems(answer), "fetch_marketplaces() problems")
        self._run("declaration_fetched_marketplaces", body)

    def test_declaration_status_map(self, tmp_path: Path) -> None:
        """Every status-map target is one of the 16 common statuses (fetched declarations included)."""
        self._run("declaration_status_map", lambda: self._report(
            checks.status_map_problems(self.spec, self._declarations_to_check(tmp_path)), "status map problems"))

    def test_declaration_actions(self, tmp_path: Path) -> None:
        """Every action is allowed from at least one valid status and names a valid result status (fetched
        declarations included)."""
        self._run("declaration_actions", lambda: self._report(
            checks.action_problems(self.spec, self._declarations_to_check(tmp_path)), "action declaration problems"))

    def test_declaration_arguments(self, tmp_path: Path) -> None:
        """Action arguments are well formed (fetched declarations included)."""
        self._run("declaration_arguments", lambda: self._report(
            checks.argument_problems(self.spec, self._declarations_to_check(tmp_path)), "action argument problems"))

    def test_declaration_secret_fields(self) -> None:
        """Config fields that hold credentials are marked secret."""
        self._run("declaration_secret_fields",
                  lambda: self._report(checks.config_field_problems(self.spec), "config field problems"))

    def test_import_does_no_io(self) -> None:
        """Importing the plugin module and calling ``register_connectors`` opens no socket, file or process."""
        def body() -> None:
            module = self.plugin_module or getattr(self.spec.client_factory, "__module__", None)
            assert module, "set plugin_module to the module your entry point names"
            script = Path(__file__).with_name("noio.py")
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # install-free checks too
            done = subprocess.run([sys.executable, str(script), module], capture_output=True, text=True,
                                  env=env, timeout=120)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            assert lines, f"the import check did not run:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            report = json.loads(lines[-1])
            problems = [f"importing {module} tried {attempt}: move it into client_factory or the client, "
                        "which the host calls only when a channel syncs" for attempt in report["attempts"]]
            if report["error"]:
                problems.append(f"importing {module} (with network, files and processes off) failed: "
                                f"{report['error']}")
            self._report(problems, f"importing the plugin module {module} must do no I/O")
        self._run("import_does_no_io", body)

    def test_entry_point(self) -> None:
        """The package is discovered through the ``lengow_tui`` entry point and loads cleanly in the host."""
        def body() -> None:
            if not self.entry_point_name:
                raise _Unavailable("set entry_point_name to your entry point's name in the lengow_tui group")
            from importlib.metadata import entry_points

            from lengow_tui.plugins import load_registry

            found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == self.entry_point_name]
            assert found, (f"no entry point {self.entry_point_name!r} in group {ENTRY_POINT_GROUP!r}: add "
                           f"[project.entry-points.{ENTRY_POINT_GROUP}] {self.entry_point_name} = "
                           "\"your_package.plugin\" to pyproject.toml and reinstall (pip install -e .)")
            registry = load_registry()
            mine = [f.describe() for f in registry.failures if f.plugin == self.entry_point_name]
            self._report(mine, "the host failed to load the plugin")
            loaded = registry.connectors.get(self.spec.name)
            assert loaded is not None and loaded.plugin == self.entry_point_name, (
                f"the host loaded no connector {self.spec.name!r} from entry point {self.entry_point_name!r}; "
                f"it has: {', '.join(f'{n} ({c.plugin})' for n, c in registry.connectors.items())}")
        self._run("entry_point", body)

    # --- check() ------------------------------------------------------------------------------------

    def test_check_good_config(self, tmp_path: Path) -> None:
        """``check()`` succeeds with the good config."""
        def body() -> None:
            with self._session(tmp_path, fetch=False) as (_env, run):
                async def go(env: KitEnvironment, client: MarketplaceClient) -> CheckResult:
                    return await client.check()
                result = run(go)
            assert isinstance(result, CheckResult), f"check() returned {type(result).__name__}, not a CheckResult"
            assert result.ok, f"check() failed with the good config: {result.message!r}"
        self._run("check_good_config", body)

    def test_check_bad_credentials(self, tmp_path: Path) -> None:
        """``check()`` with wrong credentials returns ``ok=False`` and a clear message; it does not raise."""
        def body() -> None:
            with self._session(tmp_path, fetch=False) as (env, run):
                bad = self.bad_credentials(env)

                async def go(env: KitEnvironment, client: MarketplaceClient) -> CheckResult:
                    try:
                        return await client.check()
                    except Exception as exc:
                        raise AssertionError(
                            f"check() raised {type(exc).__name__}: {exc} with wrong credentials; return "
                            "CheckResult(ok=False, message='...') instead") from exc
                result = run(go, bad)
            assert isinstance(result, CheckResult), f"check() returned {type(result).__name__}, not a CheckResult"
            assert not result.ok, "check() said ok with wrong credentials: call the marketplace and report refusal"
            assert result.message.strip(), "check() failed without a message: say what is wrong (credentials refused)"
            leaked = [v for v in self._secrets(bad) if v in result.message]
            assert not leaked, "check()'s message contains the credential itself: never echo secrets"
        self._run("check_bad_credentials", body)

    # --- pull ---------------------------------------------------------------------------------------

    def test_pull_records_validate(self, tmp_path: Path) -> None:
        """A full read returns orders, each a valid ``RemoteOrder`` of a declared marketplace."""
        def body() -> None:
            with self._session(tmp_path) as (_env, run):
                async def go(env: KitEnvironment, client: MarketplaceClient) -> list[RemoteOrder]:
                    return await self._pull(client)
                orders = run(go)
            assert orders, "a full read (fetch_orders(None)) returned no order: the emulator should serve some"
            declarations = self.declarations()
            problems = [p for order in orders for p in checks.record_problems(self.spec, order, declarations)]
            self._report(problems, "pulled orders do not validate")
        self._run("pull_records_validate", body)

    def test_pull_ids_unique(self, tmp_path: Path) -> None:
        """No page holds the same order twice, and order ids are non-empty."""
        def body() -> None:
            with self._session(tmp_path) as (_env, run):
                async def go(env: KitEnvironment, client: MarketplaceClient) -> list[OrderPage]:
                    return await self._pages(client, None)
                pages = run(go)
            problems: list[str] = []
            for n, page in enumerate(pages, 1):
                keys = [(o.marketplace, o.order_id) for o in page.orders]
                twice = sorted({k for k in keys if keys.count(k) > 1})
                for marketplace, order_id in twice:
                    problems.append(f"page {n} holds order {order_id!r} of {marketplace!r} more than once: "
                                    "yield each order once per page (the newest version)")
                problems += [f"page {n} holds an order with an empty order_id" for _, i in keys if not i]
            self._report(problems, "order ids")
        self._run("pull_ids_unique", body)

    def test_pull_listed_load(self, tmp_path: Path) -> None:
        """Pages that list orders (``OrderPage.listed``) load exactly the listed orders asked for: a part
        of them (the host asks only for new or changed ones), each with its listed key and update time."""
        def body() -> None:
            with self._session(tmp_path) as (_env, run):
                async def go(env: KitEnvironment, client: MarketplaceClient) -> list[tuple[OrderPage, Any]]:
                    found = []
                    for page in await self._pages(client, None, load=False):
                        if page.listed:
                            found.append((page, await self._load(page, page.listed[::2])))
                    return found
                loaded = run(go)
            if not loaded:
                pytest.skip("pull_listed_load: not applicable, no page lists orders (every page converts its "
                            "orders in fetch_orders)")
            problems = []
            for n, (page, orders) in enumerate(loaded, 1):
                listed = {(o.marketplace, o.order_id): o.updated_at for o in page.listed[::2]}
                for order in orders:
                    if order.updated_at != listed[(order.marketplace, order.order_id)]:
                        problems.append(f"page {n}: order {order.order_id!r} is listed as updated at "
                                        f"{listed[(order.marketplace, order.order_id)]} but loads as updated at "
                                        f"{order.updated_at}: list the time the loaded order carries")
            self._report(problems, "listed orders")
        self._run("pull_listed_load", body)

    def test_pull_second_read_is_empty(self, tmp_path: Path) -> None:
        """A read from the final cursor of a full read returns nothing new."""
        def body() -> None:
            with self._session(tmp_path) as (_env, run):
                async def go(env: KitEnvironment, client: MarketplaceClient) -> tuple[Any, ...]:
                    pages = await self._pages(client, None)
                    final = pages[-1].cursor if pages else None
                    again = await self._pull(client, final) if pages else []
                    return pages, final, again
                pages, final, again = run(go)
            assert pages, "the full read yielded no page"
            assert final is not None, ("the last page's cursor is None: the host would read everything again "
                                       "next time; return a cursor that resumes after the last order")
            seen = {(o.marketplace, o.order_id): o.updated_at for p in pages for o in p.orders}
            new = [o for o in again if (o.marketplace, o.order_id) not in seen
                   or o.updated_at > seen[(o.marketplace, o.order_id)]]
            assert not new, (f"reading again from the final cursor {final!r} returned {len(new)} order(s) that "
                             f"the full read did not have (first: {new[0].order_id!r}) although nothing changed: "
                             "the cursor must point after the last order yielded")
        self._run("pull_second_read_is_empty", body)

    def test_pull_resume_from_middle_cursor(self, tmp_path: Path) -> None:
        """Stopping after a middle page and resuming from its cursor gives the full set (duplicates allowed)."""
        def body() -> None:
            with self._session(tmp_path) as (_env, run):
                async def go(env: KitEnvironment, client: MarketplaceClient) -> tuple[Any, ...]:
                    pages = await self._pages(client, None)
                    if len(pages) < 2:
                        return pages, None, []
                    middle = (len(pages) - 1) // 2
                    return pages, middle, await self._pull(client, pages[middle].cursor)
                pages, middle, resumed = run(go)
            if middle is None:
                raise _Unavailable(f"the full read gave {len(pages)} page(s); make the kit config give several "
                                   "(a small page size) so resuming from a middle cursor can be checked")
            full = {(o.marketplace, o.order_id) for p in pages for o in p.orders}
            got = {(o.marketplace, o.order_id) for p in pages[: middle + 1] for o in p.orders}
            got |= {(o.marketplace, o.order_id) for o in resumed}
            missing = sorted(full - got)
            assert not missing, (
                f"resuming from the cursor of page {middle + 1} of {len(pages)} lost {len(missing)} order(s) "
                f"(first: {missing[0][1]!r}): a page's cursor must let the next read start right after that page")
        self._run("pull_resume_from_middle_cursor", body)

    def test_pull_unknown_status_does_not_raise(self, tmp_path: Path) -> None:
        """An order with a raw status the map does not know is still yielded (the host flags it)."""
        def body() -> None:
            with self._session(tmp_path) as (env, run):
                self.plant_unknown_status(env)

                async def go(env: KitEnvironment, client: MarketplaceClient) -> list[RemoteOrder]:
                    try:
                        return await self._pull(client)
                    except Exception as exc:
                        raise AssertionError(
                            f"fetch_orders raised {type(exc).__name__}: {exc} on an order with an unknown raw "
                            "status; yield it with its raw_status as received instead") from exc
                orders = run(go)
            unknown = [o for o in orders if (d := self.declaration(o.marketplace)) is not None
                       and checks.resolve_status(d, o) is None]
            assert unknown, ("after plant_unknown_status(), no pulled order has an unmapped raw status: keep the "
                             "marketplace's raw status in RemoteOrder.raw_status, do not drop or rewrite it")
        self._run("pull_unknown_status_does_not_raise", body)

    # --- actions ------------------------------------------------------------------------------------

    def test_action_applied_reaches_result_status(self, tmp_path: Path) -> None:
        """A well-formed action on an order in an allowed status is applied, and the order then shows the
        declared ``result_status``."""
        def body() -> None:
            with self._session(tmp_path) as (_env, run):
                async def go(env: KitEnvironment, client: MarketplaceClient) -> list[str]:
                    cases = self._cases(await self._pull(client), "action_applied_reaches_result_status")
                    problems: list[str] = []
                    for case in cases:
                        request = self._new_request(case)
                        first, final = await self._final(env, client, request)
                        if final.outcome != ActionOutcome.APPLIED:
                            problems.append(
                                f"{case.label} (status {checks.resolve_status(case.declaration, case.order)}, "
                                f"arguments {dict(case.arguments)}) answered {_fmt(final)}"
                                + (f" after {_fmt(first)}" if first is not final else "")
                                + ": a well-formed action in an allowed status must be applied")
                            continue
                        after = await client.get_order(case.declaration.code, case.order.order_id)
                        if after is None:
                            problems.append(f"after {case.label} was applied, get_order returned None")
                            continue
                        status = checks.resolve_status(case.declaration, after)
                        # The host's own rule (reconciliation): the result status or one reached only
                        # through it (an accepted order may already await shipment).
                        if case.action.result_status is not None and not shows_effect(
                                case.action.result_status, status):
                            problems.append(
                                f"after {case.label} was applied, get_order shows "
                                f"{status or 'no common status'} (raw "
                                f"{after.raw_status!r}) but the declaration says result_status="
                                f"{case.action.result_status}, which {status or 'that'} does not follow: fix result_status or the "
                                "status map (the host compares them to tell whether an interrupted action went "
                                "through)")
                    return problems
                problems = run(go)
            self._report(problems, "actions")
        self._run("action_applied_reaches_result_status", body)

    def test_action_replay_not_applied_twice(self, tmp_path: Path) -> None:
        """The same ``ActionRequest`` sent again (same ``action_id``) is answered ``applied`` or
        ``already_applied`` and the marketplace applies it once."""
        def body() -> None:
            with self._session(tmp_path) as (env, run):
                async def go(env: KitEnvironment, client: MarketplaceClient) -> tuple[list[str], list[Any]]:
                    problems: list[str] = []
                    sent: list[tuple[ActionCase, ActionRequest]] = []
                    for case in self._cases(await self._pull(client), "action_replay_not_applied_twice"):
                        request = self._new_request(case)
                        _, final = await self._final(env, client, request)
                        if final.outcome != ActionOutcome.APPLIED:
                            continue  # test_action_applied_reaches_result_status reports it
                        for replay in (request, replace(request, attempt=2)):
                            _, again = await self._final(env, client, replay)
                            if again.outcome not in (ActionOutcome.APPLIED, ActionOutcome.ALREADY_APPLIED):
                                problems.append(
                                    f"replaying {case.label} (same action_id, attempt {replay.attempt}) answered "
                                    f"{_fmt(again)}: a replay of an applied action must answer already_applied "
                                    "(or applied), never an error; remember action_id or re-read the order")
                        sent.append((case, request))
                    return problems, sent
                problems, sent = run(go)
                assert sent or problems, "no action could be applied, so no replay could be checked"
                counts: list[str] = []
                for case, request in sent:
                    n = self.applications(env, request)
                    if n != 1:
                        counts.append(f"the marketplace applied {case.label} {n} times after it was sent 3 times "
                                      "with one action_id: pass action_id as the idempotency key (or check the "
                                      "order's state before sending) so a replay is never applied twice")
            self._report(problems + counts, "replays")
        self._run("action_replay_not_applied_twice", body)

    def _faulted(self, tmp_path: Path, kind: Literal["rate_limited", "server_error"]) -> tuple[Any, ...]:
        with self._session(tmp_path) as (env, run):
            async def pick(env: KitEnvironment, client: MarketplaceClient) -> ActionCase:
                return self._cases(await self._pull(client), kind)[0]
            case = run(pick)
            request = self._new_request(case)
            fault = Fault(kind, request)
            self.inject_fault(env, fault)

            async def go(env: KitEnvironment, client: MarketplaceClient) -> ActionResult:
                return await client.perform(request)
            result = run(go)
            try:
                applied = self.applications(env, request)
            except _Unavailable:
                applied = None
        return case, fault, result, applied

    def test_action_rate_limited(self, tmp_path: Path) -> None:
        """HTTP 429 with ``Retry-After`` gives ``rate_limited`` with that delay."""
        def body() -> None:
            case, fault, result, applied = self._faulted(tmp_path, "rate_limited")
            assert result.outcome == ActionOutcome.RATE_LIMITED, (
                f"{case.label} answered {_fmt(result)} when the marketplace said 429 Retry-After: "
                f"{fault.retry_after:g}: return ActionResult.rate_limited(parse_retry_after(header))")
            assert result.retry_after is not None and \
                fault.retry_after * 0.8 <= result.retry_after <= fault.retry_after + 1, (
                    f"{case.label} was rate limited with retry_after={result.retry_after}, but the marketplace "
                    f"asked for {fault.retry_after:g}s: read the Retry-After header (parse_retry_after)")
            assert not applied, f"{case.label} was applied although the marketplace answered 429"
        self._run("action_rate_limited", body)

    def test_action_server_error_retryable(self, tmp_path: Path) -> None:
        """An HTTP 5xx gives ``retryable``."""
        def body() -> None:
            case, fault, result, applied = self._faulted(tmp_path, "server_error")
            assert result.outcome == ActionOutcome.RETRYABLE, (
                f"{case.label} answered {_fmt(result)} when the marketplace said {fault.status}: return "
                "ActionResult.retryable(message) for 5xx answers (the host retries with backoff)")
            assert not applied, f"{case.label} was applied although the marketplace answered {fault.status}"
        self._run("action_server_error_retryable", body)

    def test_action_wrong_state_rejected(self, tmp_path: Path) -> None:
        """An action on an order in a status it is not allowed from is ``rejected`` with the reason."""
        def body() -> None:
            with self._session(tmp_path) as (env, run):
                async def go(env: KitEnvironment, client: MarketplaceClient) -> tuple[Any, ...]:
                    orders = await self._pull(client)
                    found = self._wrong_state_case(orders)
                    if found is None:
                        return None, None
                    request = self._new_request(found)
                    _, final = await self._final(env, client, request)
                    return found, (request, final)
                case, outcome = run(go)
                if case is None:
                    raise _Unavailable("no pulled order is in a status that a declared action is not allowed "
                                       "from; make the emulator serve orders in several statuses")
                request, result = outcome
                try:
                    applied = self.applications(env, request)
                except _Unavailable:
                    applied = None
            status = checks.resolve_status(case.declaration, case.order)
            assert result.outcome == ActionOutcome.REJECTED, (
                f"{case.label}, an order in {status} (raw {case.order.raw_status!r}) that "
                f"{case.action.kind} is not allowed from, answered {_fmt(result)}: return "
                "ActionResult.rejected(<the marketplace's reason>)")
            assert result.message.strip(), (f"{case.label} was rejected without a reason: pass the marketplace's "
                                            "message to ActionResult.rejected(...) so the merchant knows why")
            assert not applied, f"{case.label} was applied by the marketplace although the order was {status}"
        self._run("action_wrong_state_rejected", body)

    def _wrong_state_case(self, orders: Sequence[RemoteOrder]) -> ActionCase | None:
        best: tuple[int, ActionCase] | None = None
        for order in orders:
            declaration = self.declaration(order.marketplace)
            if declaration is None:
                continue
            status = checks.resolve_status(declaration, order)
            if status is None:
                continue
            for action in declaration.actions:
                allowed = [s for s in action.allowed_from if isinstance(s, Status)]
                if not allowed or status in allowed or status == action.result_status:
                    continue
                # Prefer an order that has not reached the action yet (ship on an order still waiting
                # acceptance): one already past it may honestly answer "already applied".
                before = checks.lifecycle_rank(status) < min(checks.lifecycle_rank(s) for s in allowed)
                rank = 0 if before else 1
                if best is not None and best[0] <= rank:
                    continue
                built = checks.build_arguments(declaration, action, order, ignore_state=True)
                if built is None:
                    continue
                best = (rank, ActionCase(declaration, action, order, built[0], built[1]))
        return None if best is None else best[1]

    def test_action_undeclared_not_supported(self, tmp_path: Path) -> None:
        """An action the marketplace does not declare is answered ``not_supported`` without any HTTP call
        (``dynamic_marketplaces``: without any call after the client's own ``fetch_marketplaces()``)."""
        def body() -> None:
            with self._session(tmp_path) as (env, run):
                async def pull(env: KitEnvironment, client: MarketplaceClient) -> list[RemoteOrder]:
                    return await self._pull(client)
                orders = run(pull)
                target: tuple[RemoteOrder, ActionKind] | None = None
                for code in checks.marketplaces_of(orders):
                    declaration = self.declaration(code)
                    kinds = checks.undeclared_kinds(declaration) if declaration else []
                    if kinds:
                        target = (next(o for o in orders if o.marketplace == code), kinds[0])
                        break
                if target is None:
                    pytest.skip("every pulled marketplace declares all five actions: nothing undeclared to send")
                order, kind = target
                request = ActionRequest(f"kit-{uuid.uuid4().hex[:12]}", kind, order.marketplace, order.order_id)

                async def go() -> tuple[ActionResult, list[tuple[str, str]]]:
                    # A client that reads its declarations from the platform may do so first (as it does
                    # before the host validates any action); after that, not one call.
                    dynamic = self.spec.dynamic_marketplaces
                    network = httpx.AsyncHTTPTransport() if dynamic else None
                    transport = RecordingTransport(forward=network)
                    try:
                        async with httpx.AsyncClient(transport=transport,
                                                     timeout=httpx.Timeout(self.http_timeout)) as http:
                            client = self._client(env, http)
                            try:
                                if dynamic:
                                    await client.fetch_marketplaces()
                                    transport.close_gate()
                                return await client.perform(request), transport.requests
                            finally:
                                await client.aclose()
                    finally:
                        if network is not None:
                            await network.aclose()
                result, calls = self._async(go)
            label = f"{kind} on order {order.order_id!r} of {order.marketplace!r}, which the marketplace does not declare"
            assert result.outcome == ActionOutcome.NOT_SUPPORTED, (
                f"{label}, answered {_fmt(result)}: return ActionResult.not_supported(...) for an action the "
                "declaration does not list, before calling the marketplace")
            assert not calls, (f"{label}, made HTTP call(s) {calls}: answer not_supported before any call")
        self._run("action_undeclared_not_supported", body)

    # --- documents ----------------------------------------------------------------------------------

    def test_documents_fetchable(self, tmp_path: Path) -> None:
        """Each declared document kind is listed and fetchable for an order in a status it is available from."""
        def body() -> None:
            if not self.spec.dynamic_marketplaces and not any(m.documents for m in self.spec.marketplaces):
                pytest.skip("the connector declares no document")
            with self._session(tmp_path) as (_env, run):
                if not any(m.documents for m in self.declarations()):
                    pytest.skip("the connector declares no document (fetched declarations included)")
                async def go(env: KitEnvironment, client: MarketplaceClient) -> tuple[list[str], int]:
                    orders = await self._pull(client)
                    problems: list[str] = []
                    tried = 0
                    for code in checks.marketplaces_of(orders):
                        declaration = self.declaration(code)
                        if declaration is None:
                            continue
                        for spec in declaration.documents:
                            order = next((o for o in orders if o.marketplace == code and
                                          checks.resolve_status(declaration, o) in spec.available_from), None)
                            if order is None:
                                continue
                            tried += 1
                            where = (f"{spec.kind} of order {order.order_id!r} of {code!r} (status "
                                     f"{checks.resolve_status(declaration, order)})")
                            listed = [d for d in await client.list_documents(code, order.order_id)
                                      if d.kind == spec.kind]
                            if not listed:
                                problems.append(f"{where}: list_documents does not offer it although the "
                                                "declaration says it is available in that status")
                                continue
                            try:
                                content = await client.fetch_document(code, order.order_id, listed[0])
                            except Exception as exc:
                                problems.append(f"{where}: fetch_document raised {type(exc).__name__}: {exc}")
                                continue
                            if not content.data:
                                problems.append(f"{where}: fetch_document returned no bytes")
                            if not content.filename or not content.content_type:
                                problems.append(f"{where}: the document needs a filename and a content type")
                    return problems, tried
                problems, tried = run(go)
            if not tried:
                raise _Unavailable("no pulled order is in a status where a declared document is available")
            self._report(problems, "documents")
        self._run("documents_fetchable", body)

    # --- hygiene ------------------------------------------------------------------------------------

    def test_hygiene_logs(self, tmp_path: Path) -> None:
        """With logging at DEBUG, a check, a full read, an action and a re-read log no secret (config fields
        marked secret) and no personal data of the pulled orders."""
        def body() -> None:
            with self._session(tmp_path) as (env, run), _capture_logs() as logs:
                async def go(env: KitEnvironment, client: MarketplaceClient) -> tuple[Any, ...]:
                    messages = [(await client.check()).message]
                    orders = await self._pull(client)
                    for case in self.action_cases(orders)[:2]:
                        _, result = await self._final(env, client, self._new_request(case))
                        messages.append(result.message)
                        await client.get_order(case.declaration.code, case.order.order_id)
                    return orders, messages
                orders, messages = run(go)
            secrets = self._secrets(env.config)
            personal = checks.personal_data(orders)
            problems: list[str] = []
            for text in logs.texts:
                for secret in secrets:
                    if secret in text:
                        problems.append(f"a log record contains a secret config value: {text.replace(secret, '***')[:200]!r}"
                                        " -- never log config values marked secret (nor headers carrying them)")
                for value in personal:
                    if value in text:
                        problems.append(f"a log record contains personal data of an order ({value[:3]}...): log "
                                        "ids, statuses and counts, never names, e-mails, phones or addresses")
                        break
            for message in messages:
                if any(s in (message or "") for s in secrets):
                    problems.append("a CheckResult/ActionResult message contains a secret: the host shows and "
                                    "logs these messages")
            self._report(problems, "secrets or personal data in logs")
        self._run("hygiene_logs", body)

    def test_kit_settings(self) -> None:
        """The subclass's ``skip_reasons`` and ``expected_failures`` name real checks and give reasons."""
        problems = []
        for attr in ("skip_reasons", "expected_failures"):
            for name, reason in getattr(self, attr).items():
                if name not in CHECKS:
                    problems.append(f"{attr} names {name!r}, which is not a check; checks: {', '.join(CHECKS)}")
                if not isinstance(reason, str) or not reason.strip():
                    problems.append(f"{attr}[{name!r}] is empty: write the reason")
        self._report(problems, f"settings of {type(self).__name__}")
