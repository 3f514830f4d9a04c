"""Crash reports keep the traceback, never local variables, and redact e-mails and URL passwords."""

from pathlib import Path

from lengow_tui.tui.crash import write_crash_report


def _fail(customer_email: str) -> None:
    secret_local = "s3cr3t-api-key"  # noqa: F841  (must not reach the report)
    raise RuntimeError(f"cannot reach postgresql://shop:hunter2@db/x for {customer_email}")


def test_report_has_frames_but_no_locals_or_personal_data(tmp_path: Path):
    try:
        _fail("jane.doe@example.com")
    except RuntimeError as exc:
        path = write_crash_report(exc, tmp_path / "logs")
    text = path.read_text()
    assert "_fail" in text and "RuntimeError" in text
    for leaked in ("s3cr3t-api-key", "hunter2", "jane.doe@example.com"):
        assert leaked not in text
    assert "<email>" in text and "shop:***@db" in text
    assert path.stat().st_mode & 0o077 == 0
