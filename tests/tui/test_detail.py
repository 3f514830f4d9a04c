"""The order detail screen and the action form, driven with Pilot over a sandbox-filled store."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlmodel import select
from textual.app import App
from textual.widgets import Button, DataTable, Input, Label, Select, SelectionList, Static

from sandbox_runtime import make_runtime
from lengow_tui.runtime import Runtime
from lengow_tui.store.models import Action, Order, OrderLine
from lengow_tui.store.types import utcnow
from lengow_tui.sync.run import sync_once
from lengow_tui.tui.action_form import ActionFormScreen
from lengow_tui.tui.detail_screen import OrderDetailScreen
from lengow_tui.tui.detail_widgets import DirectoryPrompt, safe_url

SIZE = (100, 40)


@pytest.fixture
async def runtime(tmp_path: Path, sqlite_url: str):
    rt = make_runtime(tmp_path, sqlite_url)
    results = await sync_once(rt)
    assert all(r.error is None for r in results), results
    yield rt
    rt.close()


class Host(App[None]):
    def __init__(self, runtime: Runtime, order_id: int, *, read_only: bool = False) -> None:
        super().__init__()
        self.runtime, self.order_id, self.read_only = runtime, order_id, read_only

    def on_mount(self) -> None:
        self.push_screen(OrderDetailScreen(self.runtime, self.order_id, read_only=self.read_only))


def find_order(rt: Runtime, marketplace: str, status: str, delivery_type: str | None = None,
               documents: bool = False) -> Order:
    with rt.store.read() as session:
        stmt = select(Order).where(Order.marketplace == marketplace, Order.status == status).order_by(Order.id)
        if delivery_type:
            stmt = stmt.where(Order.delivery_type == delivery_type)
        if documents:
            stmt = stmt.where(Order.has_documents == True)  # noqa: E712
        order = session.exec(stmt).first()
    assert order is not None, (marketplace, status, delivery_type)
    return order


def action_count(rt: Runtime) -> int:
    with rt.store.read() as session:
        return session.exec(select(func.count()).select_from(Action)).one()


def visible_actions(screen: OrderDetailScreen) -> set[str]:
    return {b.id or "" for b in screen.query("#actions Button").results(Button) if b.display}


def plain(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_detail_shows_status_raw_status_lines_and_goes_back(runtime: Runtime):
    order = find_order(runtime, "mirakl_sandbox", "waiting_acceptance")
    with runtime.store.read() as session:
        lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    app = Host(runtime, order.id)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, OrderDetailScreen)
        summary = plain(screen, "#summary")
        assert order.marketplace_order_id in summary
        assert "Waiting Acceptance" in summary and f"raw {order.raw_status}" in summary
        assert "Mirakl sandbox" in summary and "Ship by" in summary
        table = screen.query_one("#lines", DataTable)
        assert table.row_count == len(lines)
        assert str(table.get_row_at(0)[1]) == lines[0].sku
        assert "Waiting Acceptance (WAITING_ACCEPTANCE)" in str(table.get_row_at(0)[4])
        assert "imported as Waiting Acceptance" in plain(screen, "#history")
        body = screen.query_one("#detail-body")
        await pilot.resize_terminal(80, 16)
        await pilot.pause()
        body.scroll_to(y=3, animate=False)
        await pilot.pause()
        assert body.scroll_y == 3
        screen.reload()
        await pilot.pause()
        assert body.scroll_y == 3
        await pilot.press("p")
        assert screen.query_one("#raw", Static).display
        assert order.marketplace_order_id in plain(screen, "#raw")
        await pilot.press("escape")
        assert not isinstance(app.screen, OrderDetailScreen)


async def test_actions_offered_follow_the_declaration(runtime: Runtime):
    mirakl = find_order(runtime, "mirakl_sandbox", "waiting_acceptance")
    app = Host(runtime, mirakl.id)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, OrderDetailScreen)
        assert visible_actions(screen) == {"act-accept", "act-refuse"}
        assert screen.check_action("act", ("accept",)) and not screen.check_action("act", ("ship",))
        await pilot.press("s")  # ship is not allowed from waiting acceptance: no form
        assert app.screen is screen

    amazon = find_order(runtime, "amazon_sandbox", "waiting_shipment")
    app = Host(runtime, amazon.id)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE):
        assert visible_actions(app.screen) == {"act-ship", "act-cancel"}  # type: ignore[arg-type]


async def test_read_only_and_anonymized_orders_offer_no_action(runtime: Runtime):
    order = find_order(runtime, "mirakl_sandbox", "waiting_acceptance")
    app = Host(runtime, order.id, read_only=True)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert visible_actions(screen) == set()  # type: ignore[arg-type]
        assert not screen.query_one("#actions").display
        await pilot.press("a")
        assert app.screen is screen

    with runtime.store.write() as session:
        row = session.get(Order, order.id)
        row.anonymized_at = utcnow()  # type: ignore[union-attr]
        session.add(row)
    app = Host(runtime, order.id)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE):
        assert visible_actions(app.screen) == set()  # type: ignore[arg-type]
        assert "anonymized on" in plain(app.screen, "#parties")


async def test_pickup_ship_form_requires_tracking_then_queues(runtime: Runtime):
    order = find_order(runtime, "pickup_sandbox", "waiting_shipment", delivery_type="tracked")
    app = Host(runtime, order.id)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        detail = app.screen
        await pilot.press("s")
        form = app.screen
        assert isinstance(form, ActionFormScreen)
        assert "Numéro de suivi *" in str(form.query_one("#label-1", Label).render())  # tracked delivery
        form.query_one("#arg-0", Select).value = "COLISSIMO"
        await pilot.pause()
        await pilot.press("ctrl+s")
        assert app.screen is form
        assert "required" in plain(form, "#error-1")
        assert plain(form, "#error-0") == ""
        assert action_count(runtime) == 0

        form.query_one("#arg-1", Input).focus()
        await pilot.press(*"6A12345")
        assert plain(form, "#error-1") == ""
        await pilot.press("ctrl+s")
        assert app.screen is detail
        assert action_count(runtime) == 1
        assert "ship" in plain(detail, "#history") and "queued" in plain(detail, "#history")
    with runtime.store.read() as session:
        action = session.exec(select(Action)).one()
    assert action.arguments == {"carrier": "COLISSIMO", "tracking_number": "6A12345"} and action.source == "tui"


async def test_amazon_carrier_other_makes_carrier_name_required(runtime: Runtime):
    order = find_order(runtime, "amazon_sandbox", "waiting_shipment")
    app = Host(runtime, order.id)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        form = app.screen
        assert isinstance(form, ActionFormScreen)
        label = form.query_one("#label-1", Label)
        assert str(label.render()) == "Carrier name"
        assert "required when carrier is 'Other'" in plain(form, "#hint-1")
        form.query_one("#arg-0", Select).value = "Other"
        await pilot.pause()
        assert str(label.render()) == "Carrier name *"
        form.query_one("#arg-2", Input).value = "TRK1"
        await pilot.press("ctrl+s")
        assert "Carrier name is required when carrier is 'Other'" in plain(form, "#error-1")
        assert action_count(runtime) == 0
        form.query_one("#arg-0", Select).value = "UPS"
        await pilot.pause()
        assert str(label.render()) == "Carrier name" and plain(form, "#error-1") == ""
        await pilot.press("escape")
        assert isinstance(app.screen, OrderDetailScreen)
    assert action_count(runtime) == 0


async def test_mirakl_accept_picks_lines(runtime: Runtime):
    order = find_order(runtime, "mirakl_sandbox", "waiting_acceptance")
    app = Host(runtime, order.id)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, ActionFormScreen)
        picker = form.query_one("#lines", SelectionList)
        assert len(picker.selected) == len(form.lines)
        picker.deselect_all()
        await pilot.press("ctrl+s")
        assert "select at least one line" in plain(form, "#problems-top")
        assert action_count(runtime) == 0
        picker.select_all()
        await pilot.pause()
        await pilot.click("#submit")
        assert isinstance(app.screen, OrderDetailScreen)
    with runtime.store.read() as session:
        action = session.exec(select(Action)).one()
    assert action.kind == "accept" and [s["line_id"] for s in action.lines] == [l.line_id for l in form.lines]


async def test_document_is_saved_into_chosen_directory(runtime: Runtime, tmp_path: Path):
    order = find_order(runtime, "amazon_sandbox", "shipped", documents=True)
    target = tmp_path / "downloads"
    target.mkdir()
    app = Host(runtime, order.id)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        detail = app.screen
        assert isinstance(detail, OrderDetailScreen)
        assert "○ remote" in str(detail.query_one("#documents", DataTable).get_row_at(0)[0])
        links = [span.style.link for span in detail.query_one("#summary", Static).render().spans  # type: ignore[union-attr]
                 if not isinstance(span.style, str) and span.style.link]
        assert links and links[0].startswith("https://") and order.tracking_number in links[0]  # type: ignore[operator]
        await pilot.press("d")
        prompt = app.screen
        assert isinstance(prompt, DirectoryPrompt)
        assert prompt.query_one("#directory", Input).value == str(Path.cwd())
        prompt.query_one("#directory", Input).value = str(target)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        files = list(target.iterdir())
        assert len(files) == 1 and files[0].read_bytes().startswith(b"%PDF")
        assert "● stored" in str(detail.query_one("#documents", DataTable).get_row_at(0)[0])
        assert detail.save_directory == target


async def test_hostile_text_renders_inert(runtime: Runtime):
    order = find_order(runtime, "amazon_sandbox", "waiting_shipment")
    with runtime.store.write() as session:
        session.execute(text("UPDATE party SET name = :name, company = :company WHERE order_id = :id"),
                        {"name": "\x1b[31mEVIL\x1b]8;;http://evil\x07x", "company": "[b]ACME[/b] [link=http://x]y",
                         "id": order.id})
        session.execute(text("UPDATE order_line SET title = :t WHERE order_id = :id"),
                        {"t": "[red]Mug\x1b[2J", "id": order.id})
    app = Host(runtime, order.id)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        parties = plain(screen, "#parties")
        assert "EVIL" in parties and "\x1b" not in parties and "\x07" not in parties
        assert "[b]ACME[/b] [link=http://x]y" in parties  # shown as typed, not interpreted
        assert str(screen.query_one("#lines", DataTable).get_row_at(0)[5]) == "[red]Mug"
        screen.query_one("#parties").scroll_visible(animate=False, top=True)
        await pilot.pause()
        svg = app.export_screenshot()
        assert "EVIL" in svg and "ACME[/b]" in svg
        assert "\x1b" not in svg and "\x07" not in svg and "http://evil" not in svg
        await pilot.press("p")
        assert "\x1b" not in plain(screen, "#raw")


@pytest.mark.parametrize(("url", "ok"), [
    ("https://www.ups.com/track?tracknum=1Z", True),
    ("javascript:alert(1)", False),
    ("https://evil\x1b]8;;x\x07.example/", False),
    ("http://a b", False),
    ("", False),
])
def test_only_plain_web_links_become_hyperlinks(url: str, ok: bool):
    assert (safe_url(url) == url) is ok


async def test_open_document_hands_one_private_copy_to_the_viewer(runtime: Runtime, tmp_path: Path, monkeypatch):
    from lengow_tui.tui import detail_screen

    opened: list[Path] = []
    monkeypatch.setattr(detail_screen.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(detail_screen, "open_with_viewer", lambda path: opened.append(path) or True)
    order = find_order(runtime, "amazon_sandbox", "shipped", documents=True)
    app = Host(runtime, order.id)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(2):
            await pilot.press("o")
            await app.workers.wait_for_complete()
            await pilot.pause()
    assert len(opened) == 2 and opened[0] == opened[1] and opened[0].read_bytes().startswith(b"%PDF")
    assert oct(opened[0].parent.parent.stat().st_mode & 0o777) == "0o700"
