"""The conformance kit fails a deliberately broken copy of the template, saying what to fix.

tests/fixtures/broken_connector/ holds the broken connector and its kit test module; it runs in a pytest
subprocess (a failing suite inside ours), and this test reads its report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "tests" / "fixtures" / "broken_connector"
TEMPLATE = ROOT / "examples" / "connector-template"


@pytest.fixture(scope="module")
def report() -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LENGOW_TUI_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(TEMPLATE), str(BROKEN)])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(BROKEN / "kit-pytest.ini"), "--rootdir", str(BROKEN),
         str(BROKEN / "kit_broken_check.py"), "-q", "--show-capture=no", "-p", "no:randomly"],
        capture_output=True, text=True, env=env, timeout=300, cwd=BROKEN,
    )


def test_the_broken_connector_fails_the_kit(report: subprocess.CompletedProcess[str]) -> None:
    assert report.returncode == 1, report.stdout[-3000:] + report.stderr[-3000:]  # 1 = tests failed
    failed = {line.split("::")[-1].split(" ")[0] for line in report.stdout.splitlines() if line.startswith("FAILED ")}
    assert {
        "test_declaration_status_map", "test_declaration_actions", "test_action_replay_not_applied_twice",
        "test_hygiene_logs",
    } <= failed, report.stdout[-3000:]
    # What is not broken still passes: the kit blames the right checks.
    assert not failed & {"test_check_good_config", "test_check_bad_credentials", "test_pull_ids_unique",
                         "test_action_rate_limited", "test_action_server_error_retryable",
                         "test_action_undeclared_not_supported", "test_import_does_no_io"}, failed


@pytest.mark.parametrize("expected", [
    # wrong status target
    "maps raw 'EXPEDIEE' (order level) to 'shipped_ok', which is not one of the 16 statuses: use one of new, ",
    # action with no allowed statuses
    "action 'cancel' of marketplace 'marche_exemple' is allowed from no status, so the merchant can never use "
    "it: list the statuses it is possible from in allowed_from",
    # a replay applied twice
    "the marketplace applied ship on order",
    "pass action_id as the idempotency key",
    # a secret in the log, which the report itself does not repeat
    "a log record contains a secret config value",
    "never log config values marked secret",
])
def test_the_failures_say_what_to_fix(report: subprocess.CompletedProcess[str], expected: str) -> None:
    assert expected in report.stdout, report.stdout[-4000:]


def test_the_report_does_not_leak_the_secret(report: subprocess.CompletedProcess[str]) -> None:
    sys.path.insert(0, str(TEMPLATE))
    try:
        from lengow_tui_template.emulator import EmulatorState
    finally:
        sys.path.remove(str(TEMPLATE))
    assert EmulatorState().api_key not in report.stdout
