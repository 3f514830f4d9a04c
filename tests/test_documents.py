"""Documents: fetched from the sandbox once, stored, saved under safe names without overwriting."""

from __future__ import annotations

from pathlib import Path

import asyncio

import pytest
from sqlmodel import col, select

from sandbox_runtime import make_runtime
from lengow_tui.runtime import Runtime
from lengow_tui.services import documents as documents_service
from lengow_tui.services.documents import DocumentError, fetch_document, safe_filename, save_document
from lengow_tui.store.models import Document, Order
from lengow_tui.sync.run import sync_once


@pytest.fixture
async def runtime(tmp_path: Path, sqlite_url: str):
    rt = make_runtime(tmp_path, sqlite_url)
    results = await sync_once(rt)
    assert all(r.error is None for r in results), results
    yield rt
    rt.close()


def first_document(rt: Runtime) -> Document:
    with rt.store.read() as session:
        row = session.exec(select(Document).order_by(Document.id)).first()
    assert row is not None, "the sandbox serves documents for shipped orders"
    return row


async def test_fetch_stores_once_and_saves_without_overwriting(runtime: Runtime, tmp_path: Path, monkeypatch):
    row = first_document(runtime)
    assert row.content is None

    fetched = await fetch_document(runtime, row.id)  # type: ignore[arg-type]
    assert fetched.content is not None and fetched.content.startswith(b"%PDF")
    assert fetched.size == len(fetched.content) and fetched.fetched_at is not None
    with runtime.store.read() as session:
        stored = session.get(Document, row.id)
        assert stored is not None and stored.content == fetched.content

    def no_network(*_args, **_kwargs):
        raise AssertionError("a stored document must not be fetched again")

    monkeypatch.setattr(documents_service, "open_client", no_network)
    again = await fetch_document(runtime, row.id)  # type: ignore[arg-type]
    assert again.content == fetched.content

    out = tmp_path / "out"
    out.mkdir()
    first = save_document(again, out)
    second = save_document(again, out)
    assert first != second and first.parent == out and second.parent == out
    assert first.read_bytes() == second.read_bytes() == fetched.content
    assert first.name == row.filename
    assert second.name == f"{Path(row.filename).stem} (2){Path(row.filename).suffix}"


async def test_connector_errors_become_document_errors(runtime: Runtime, monkeypatch):
    row = first_document(runtime)
    with runtime.store.write() as session:
        doc = session.get(Document, row.id)
        doc.remote_id = "nope"  # type: ignore[union-attr]
        doc.kind = "return_note"  # type: ignore[union-attr]  # not served by the sandbox for this order
        session.add(doc)
    with pytest.raises(DocumentError) as info:
        await fetch_document(runtime, row.id)  # type: ignore[arg-type]
    assert "could not fetch the return note of order" in str(info.value)
    with pytest.raises(DocumentError, match="no document with id"):
        await fetch_document(runtime, 999_999)


async def test_foreign_exception_text_is_not_shown(runtime: Runtime, monkeypatch):
    row = first_document(runtime)

    class Boom:
        async def __aenter__(self):
            raise RuntimeError("Jane Doe, 1 rue de la Paix")

        async def __aexit__(self, *exc):
            return False

    monkeypatch.setattr(documents_service, "open_client", lambda *_: Boom())
    with pytest.raises(DocumentError) as info:
        await fetch_document(runtime, row.id)  # type: ignore[arg-type]
    assert "Jane" not in str(info.value) and "RuntimeError" in str(info.value)


async def test_anonymized_orders_have_no_documents(runtime: Runtime):
    row = first_document(runtime)
    with runtime.store.write() as session:
        order = session.get(Order, row.order_id)
        from lengow_tui.store.types import utcnow

        order.anonymized_at = utcnow()  # type: ignore[union-attr]
        session.add(order)
    with pytest.raises(DocumentError, match="anonymized"):
        await fetch_document(runtime, row.id)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "_.._etc_passwd"),
        ("..", "doc-1"),
        ("in\x1b[31mvoice\x07.pdf", "invoice.pdf"),
        ("a/b\\c.pdf", "a_b_c.pdf"),
        (".hidden.pdf", "hidden.pdf"),
        ("", "doc-1"),
    ],
)
def test_safe_filename(given: str, expected: str):
    assert safe_filename(given, fallback="doc-1") == expected


def test_save_refuses_unfetched_and_missing_directory(tmp_path: Path):
    row = Document(id=1, order_id=1, remote_id="r", kind="invoice", filename="x.pdf")
    with pytest.raises(DocumentError, match="not been fetched"):
        save_document(row, tmp_path)
    row.content = b"%PDF-1.4"
    with pytest.raises(DocumentError, match="not a directory"):
        save_document(row, tmp_path / "missing")
    long = Document(id=2, order_id=1, remote_id="r", kind="invoice", filename="n" * 400 + ".pdf", content=b"x")
    path = save_document(long, tmp_path)
    assert path.suffix == ".pdf" and len(path.name) <= documents_service.MAX_FILENAME_LENGTH


def test_prefetch_stores_the_documents_the_marketplace_offers(tmp_path: Path, sqlite_url: str):
    runtime = make_runtime(tmp_path, sqlite_url, prefetch_documents=True)
    results = asyncio.run(sync_once(runtime))
    assert results[0].error is None, results[0].error
    prefetched = results[0].documents
    assert prefetched is not None and prefetched.fetched > 0 and prefetched.failed == 0
    with runtime.store.read() as session:
        stored = list(session.exec(select(Document).where(col(Document.content).is_not(None))))
    assert len(stored) == prefetched.fetched
    assert all(doc.content and doc.content.startswith(b"%PDF") and doc.fetched_at for doc in stored)
    runtime.close()


def test_without_prefetch_documents_wait_for_a_user(tmp_path: Path, sqlite_url: str):
    runtime = make_runtime(tmp_path, sqlite_url)
    results = asyncio.run(sync_once(runtime))
    assert results[0].documents is None
    with runtime.store.read() as session:
        assert session.exec(select(Document).where(col(Document.content).is_not(None))).first() is None
        assert session.exec(select(Document)).first() is not None  # listed, not fetched
    runtime.close()
