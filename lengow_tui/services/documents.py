"""Order documents (invoices, delivery slips...): fetched from the marketplace on demand, stored once,
saved to files under names the marketplace cannot abuse.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from lengow_tui.connector_api import ConnectorError, MarketplaceClient, RemoteDocument
from lengow_tui.domain import DocumentKind
from lengow_tui.store.models import Channel, Document, Order
from lengow_tui.store.types import utcnow
from lengow_tui.sync.clients import open_client
from lengow_tui.text import clean_text

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime

MAX_FILENAME_LENGTH = 120
# Characters that separate paths or are refused by common file systems (Windows, SMB shares).
_FORBIDDEN = re.compile(r'[/\\:*?"<>|]')


class DocumentError(Exception):
    """A document cannot be fetched or saved. The message is safe to show and log (no customer data)."""


async def fetch_document(runtime: Runtime, document_id: int, client: MarketplaceClient | None = None) -> Document:
    """The document row with its content, fetched from the marketplace the first time only.

    ``client``: the channel's client when the caller has one open (the sync engine's prefetch); by
    default one is opened for the call."""
    with runtime.store.read() as session:
        row = session.get(Document, document_id)
        if row is None:
            raise DocumentError(f"no document with id {document_id}")
        if row.content is not None:
            return row
        order = session.get(Order, row.order_id)
        channel = session.get(Channel, order.channel_id) if order is not None else None
    if order is None or channel is None:
        raise DocumentError(f"document {document_id} belongs to no known order or channel")
    if order.anonymized_at is not None:
        raise DocumentError("the order was anonymized after the retention period; its documents are gone")
    try:
        kind = DocumentKind(row.kind)
    except ValueError:
        kind = DocumentKind.OTHER
    remote = RemoteDocument(document_id=row.remote_id, kind=kind, filename=row.filename,
                            content_type=row.content_type, size=row.size)
    kind_text = kind.value.replace("_", " ")
    what = f"the {kind_text} of order {order.marketplace_order_id} from channel {channel.name}"
    try:
        if client is not None:
            content = await client.fetch_document(order.marketplace, order.marketplace_order_id, remote)
        else:
            async with open_client(runtime, channel.name) as opened:
                content = await opened.fetch_document(order.marketplace, order.marketplace_order_id, remote)
    except ConnectorError as exc:
        # Connector messages are documented as free of secrets and personal data.
        raise DocumentError(f"could not fetch {what}: {clean_text(str(exc), 300)}") from exc
    except NotImplementedError as exc:
        raise DocumentError(f"the connector of channel {channel.name} cannot fetch documents") from exc
    except KeyError as exc:
        raise DocumentError(f"channel {channel.name} is not configured any more") from exc
    except httpx.HTTPError as exc:
        raise DocumentError(f"could not fetch {what}: network error ({type(exc).__name__})") from exc
    except Exception as exc:
        # A foreign exception's text may quote anything (a payload, an address): keep only its type.
        raise DocumentError(f"could not fetch {what}: the connector failed ({type(exc).__name__})") from exc
    data = getattr(content, "data", None)
    if not isinstance(data, bytes | bytearray):
        raise DocumentError(f"could not fetch {what}: the connector returned no content")
    with runtime.store.write() as session:
        stored = session.get(Document, document_id)
        if stored is None:
            raise DocumentError(f"document {document_id} disappeared while it was being fetched")
        stored.content = bytes(data)
        stored.size = len(data)
        stored.fetched_at = utcnow()
        session.add(stored)
    return stored


def safe_filename(name: str, fallback: str = "document") -> str:
    """``name`` reduced to one harmless file name: no directories, no control or escape characters,
    no leading dots, bounded length."""
    text = "".join(ch for ch in clean_text(name) if unicodedata.category(ch)[0] != "C" and ch != "\ufffd")
    text = _FORBIDDEN.sub("_", text).strip().lstrip(".").rstrip(". ")
    if not text:
        text = fallback
    if len(text) > MAX_FILENAME_LENGTH:
        stem, dot, suffix = text.rpartition(".")
        if dot and 0 < len(suffix) <= 10:
            text = stem[: MAX_FILENAME_LENGTH - len(suffix) - 1] + "." + suffix
        else:
            text = text[:MAX_FILENAME_LENGTH]
    return text


def save_document(row: Document, directory: Path) -> Path:
    """Write the stored content of ``row`` into ``directory`` and return the new file's path.

    An existing file is never replaced: ``invoice.pdf`` becomes ``invoice (2).pdf`` and so on.
    """
    if row.content is None:
        raise DocumentError(f"document {row.id} has not been fetched yet")
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise DocumentError(f"{directory} is not a directory")
    name = safe_filename(row.filename, fallback=f"{row.kind or 'document'}-{row.id}")
    stem, suffix = Path(name).stem, Path(name).suffix
    for attempt in range(1, 1000):
        candidate = directory / (name if attempt == 1 else f"{stem} ({attempt}){suffix}")
        try:
            # "x" creates or fails atomically, so two savers never write into the same file.
            with candidate.open("xb") as handle:
                handle.write(row.content)
        except FileExistsError:
            continue
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise DocumentError(f"cannot write into {directory}: {reason}") from exc
        return candidate
    raise DocumentError(f"too many files named like {name} in {directory}")
