"""The Mirakl seller-API operations the emulator serves, on an :class:`EmulatorState`.

Each function validates like Mirakl (400 with a message, 404 for unknown orders), applies the change
under the state lock, and returns what the action log needs. Messages are modelled on Mirakl's style
(``{"message": ..., "status": ...}``); exact wording differs from a real instance.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lengow_tui_mirakl.emulator import machine as m
from lengow_tui_mirakl.emulator.clock import iso, parse_iso
from lengow_tui_mirakl.emulator.generate import ACCEPTED_STATES, SHIPPED_STATES, build_order
from lengow_tui_mirakl.emulator.pdf import PDF_SIZE, minimal_pdf
from lengow_tui_mirakl.emulator.state import DOCUMENT_TYPES, EmulatorState, MiraklError

MAX_PAGE = 100
MAX_IDS = 100


@dataclass
class Applied:
    """What an action did: the operations applied (for the log) and an optional JSON answer."""

    order_id: str
    operations: tuple[str, ...]
    body: dict[str, Any] | None = None
    targets: dict[str, tuple[str, ...]] | None = None  # operation -> order lines it changed


# --- OR11 ------------------------------------------------------------------------------------------

def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise MiraklError(400, f"Invalid value '{raw}' for parameter '{name}': a number is expected") from None
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise MiraklError(400, f"The parameter '{name}' must be {limit}")
    return value


def _date_param(params: Mapping[str, str], name: str) -> float | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise MiraklError(400, f"Invalid date format for parameter '{name}': '{raw[:40]}' (ISO 8601 expected)") from None


def _id_list(params: Mapping[str, str], name: str) -> list[str] | None:
    raw = params.get(name)
    if raw is None:
        return None
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    if len(ids) > MAX_IDS:
        raise MiraklError(400, f"The limit of {MAX_IDS} is exceeded for the parameter : {name}")
    return ids


def list_orders(state: EmulatorState, params: Mapping[str, str]) -> bytes:
    """OR11 ``GET /api/orders``: offset paging, creation-date sort, update-date filter with Mirakl's delta."""
    paginate = params.get("paginate", "true").lower() != "false"
    limit = _int_param(params, "max", 10, 1, MAX_PAGE)
    offset = _int_param(params, "offset", 0, 0, None)
    sort = params.get("sort", "dateCreated")
    if sort not in ("dateCreated", "dateUpdated"):
        raise MiraklError(400, f"Invalid value '{sort[:40]}' for parameter 'sort'")
    direction = params.get("order", "asc").lower()
    if direction not in ("asc", "desc"):
        raise MiraklError(400, f"Invalid value '{direction[:40]}' for parameter 'order'")
    ids = _id_list(params, "order_ids")
    states = _id_list(params, "order_state_codes")
    start_update = _date_param(params, "start_update_date")
    end_update = _date_param(params, "end_update_date")
    start_created = _date_param(params, "start_date")
    end_created = _date_param(params, "end_date")
    if start_update is not None:
        start_update -= state.options.update_delta_seconds  # "Mirakl subtracts a time delta"
    with state.lock:
        state.tick()
        world = state.world
        if ids is not None:
            selected = [world.index[i] for i in dict.fromkeys(ids) if i in world.index]
            selected.sort()
        else:
            state_set = frozenset(states) if states else None
            checks = []
            if start_update is not None:
                checks.append(lambda i: world.updated[i] >= start_update)
            if end_update is not None:
                checks.append(lambda i: world.updated[i] <= end_update)
            if start_created is not None:
                checks.append(lambda i: world.plans[i].created >= start_created)
            if end_created is not None:
                checks.append(lambda i: world.plans[i].created <= end_created)
            if state_set is not None:
                checks.append(lambda i: world.states[i] in state_set)
            if checks:
                key = (start_update, end_update, start_created, end_created, state_set)
                selected = state.select(key, lambda i: all(check(i) for check in checks))
            else:
                selected = range(len(world))  # type: ignore[assignment]
        if sort == "dateUpdated":
            selected = sorted(selected, key=lambda i: world.updated[i])
        if direction == "desc":
            selected = list(reversed(selected))
        total = len(selected)
        page = selected[offset:offset + limit] if paginate else selected
        body = b",".join([state.order_bytes(i) for i in page])
    return b'{"orders":[' + body + b'],"total_count":' + str(total).encode() + b"}"


# --- OR21 accept / refuse ---------------------------------------------------------------------------

def _body_list(body: Any, name: str) -> list[dict[str, Any]]:
    items = body.get(name) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise MiraklError(400, f"The field '{name}' is required and must be a non-empty list")
    return items


def accept(state: EmulatorState, order_id: str, body: Any) -> Applied:
    items = _body_list(body, "order_lines")
    with state.lock:
        index = state.lookup(order_id)
        order = state.order_dict(index)
        lines = {line["order_line_id"]: line for line in order["order_lines"]}
        decisions: list[tuple[dict[str, Any], bool]] = []
        for item in items:
            line = lines.get(str(item.get("id")))
            if line is None:
                raise MiraklError(400, f"Order line '{item.get('id')}' does not belong to order '{order_id}'")
            if not isinstance(item.get("accepted"), bool):
                raise MiraklError(400, f"The field 'accepted' is required for order line '{line['order_line_id']}'")
            if line["order_line_state"] != "WAITING_ACCEPTANCE":
                raise MiraklError(400, f"Order line '{line['order_line_id']}' cannot be accepted or refused: "
                                       f"its state is {line['order_line_state']}")
            decisions.append((line, item["accepted"]))
        now = iso(state.now())
        for line, accepted in decisions:
            line["order_line_state"] = "WAITING_DEBIT_PAYMENT" if accepted else "REFUSED"
            if not accepted:
                line["order_line_state_reason_code"] = "SHOP_REFUSED"
                line["order_line_state_reason_label"] = "Refused by the shop"
        if all(line["order_line_state"] != "WAITING_ACCEPTANCE" for line in order["order_lines"]):
            order["acceptance_decision_date"] = now
            if any(line["order_line_state"] == "WAITING_DEBIT_PAYMENT" for line in order["order_lines"]):
                state._at(state.options.debit_delay_seconds, "debit", order_id)
        state._touch(index)
    operations = tuple(dict.fromkeys("accept" if accepted else "refuse" for _, accepted in decisions))
    targets = {op: tuple(line["order_line_id"] for line, accepted in decisions if (op == "accept") == accepted)
               for op in operations}
    return Applied(order_id, operations, targets=targets)


# --- OR23 tracking / OR24 ship ----------------------------------------------------------------------

def tracking(state: EmulatorState, order_id: str, body: Any) -> Applied:
    if not isinstance(body, dict):
        raise MiraklError(400, "A JSON object is expected")
    code = (body.get("carrier_code") or "").strip() or None
    name = (body.get("carrier_name") or "").strip() or None
    url = (body.get("carrier_url") or "").strip() or None
    number = (body.get("tracking_number") or "").strip() or None
    carriers = {c[0]: c for c in state.carriers}
    if code is None and name is None:
        raise MiraklError(400, "Either 'carrier_code' or 'carrier_name' is required")
    if code is not None and code not in carriers:
        raise MiraklError(400, f"The carrier with code '{code[:60]}' does not exist")
    with state.lock:
        index = state.lookup(order_id)
        order = state.order_dict(index)
        if order["order_state"] not in ("SHIPPING", "SHIPPED", "TO_COLLECT"):
            raise MiraklError(400, f"The tracking of order '{order_id}' cannot be updated: its state is "
                                   f"{order['order_state']}")
        if code is not None:
            _, label, template = carriers[code]
            if template and not number:
                raise MiraklError(400, f"The tracking number is required for carrier '{code}'")
            new = {"shipping_carrier_code": code, "shipping_carrier_standard_code": code, "shipping_company": label,
                   "shipping_tracking": number,
                   "shipping_tracking_url": template.replace("{trackingId}", number) if template and number else None}
        else:
            new = {"shipping_carrier_code": None, "shipping_carrier_standard_code": None, "shipping_company": name,
                   "shipping_tracking": number, "shipping_tracking_url": url}
        if all(order.get(k) == v for k, v in new.items()):
            return Applied(order_id, ())  # same tracking again: nothing changes
        order.update(new)
        state._touch(index)
    return Applied(order_id, ("tracking",))


def ship(state: EmulatorState, order_id: str) -> Applied:
    with state.lock:
        index = state.lookup(order_id)
        order = state.order_dict(index)
        if order["order_state"] != "SHIPPING":
            raise MiraklError(400, f"The shipment of order '{order_id}' cannot be validated: its state is "
                                   f"{order['order_state']}")
        now = iso(state.now())
        for line in order["order_lines"]:
            if line["order_line_state"] == "SHIPPING":
                line["order_line_state"], line["shipped_date"] = "SHIPPED", now
        state._touch(index)
    return Applied(order_id, ("ship",))


# --- OR28 refund / OR29 cancel / OR30 cancel lines --------------------------------------------------

def _find_line(state: EmulatorState, line_id: str) -> tuple[int, dict[str, Any]]:
    order_id = line_id.rsplit("-", 1)[0] if "-" in line_id else ""
    index = state.world.index.get(order_id)
    if index is not None:
        for line in state.order_dict(index)["order_lines"]:
            if line["order_line_id"] == line_id:
                return index, line
    raise MiraklError(400, f"The order line '{line_id[:80]}' does not exist")


def _amount(item: Mapping[str, Any], name: str, line_id: str) -> int:
    raw = item.get(name, 0)
    if raw is None:
        return 0
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw < 0:
        raise MiraklError(400, f"Invalid '{name}' for order line '{line_id}'")
    return m.cents(raw)


def _check_taxes(item: Mapping[str, Any], line: dict[str, Any], amount: int, shipping: int, what: str) -> None:
    line_id = line["order_line_id"]
    if amount and line["taxes"] and not item.get("taxes"):
        raise MiraklError(400, f"The taxes are required to {what} order line '{line_id}' because the order has taxes")
    if shipping and line["shipping_taxes"] and not item.get("shipping_taxes"):
        raise MiraklError(400, f"The shipping taxes are required to {what} order line '{line_id}' because the "
                               "order has shipping taxes")
    for tax in list(item.get("taxes") or []) + list(item.get("shipping_taxes") or []):
        if not isinstance(tax, dict) or not tax.get("code") or not isinstance(tax.get("amount"), (int, float)):
            raise MiraklError(400, f"Invalid tax for order line '{line_id}': 'code' and 'amount' are required")


def refund(state: EmulatorState, body: Any) -> list[Applied]:
    items = _body_list(body, "refunds")
    reasons = {r["code"] for r in state.reasons_json() if r["type"] == "REFUND"}
    with state.lock:
        planned = []
        pending: dict[str, int] = {}
        for item in items:
            line_id = str(item.get("order_line_id") or "")
            index, line = _find_line(state, line_id)
            if str(item.get("reason_code") or "") not in reasons:
                raise MiraklError(400, f"The refund reason code '{str(item.get('reason_code'))[:40]}' is unknown")
            if line["order_line_state"] not in m.REFUNDABLE:
                raise MiraklError(400, f"Order line '{line_id}' cannot be refunded: its state is "
                                       f"{line['order_line_state']}")
            amount = _amount(item, "amount", line_id)
            shipping = _amount(item, "shipping_amount", line_id)
            if amount == 0 and shipping == 0:
                raise MiraklError(400, f"Nothing to refund on order line '{line_id}': amount and shipping_amount are 0")
            left = m.remaining_cents(line) - pending.get(line_id, 0)
            if amount > left:
                raise MiraklError(400, f"The amount to refund ({amount / 100:.2f}) is greater than the refundable "
                                       f"amount ({max(0, left) / 100:.2f}) of order line '{line_id}'")
            shipped_refunded = sum(m.cents(r.get("shipping_amount")) for r in line["refunds"])
            if shipping > m.cents(line["shipping_price"]) - shipped_refunded:
                raise MiraklError(400, f"The shipping amount to refund is greater than the refundable shipping "
                                       f"amount of order line '{line_id}'")
            _check_taxes(item, line, amount, shipping, "refund")
            pending[line_id] = pending.get(line_id, 0) + amount
            planned.append((index, line, item, amount, shipping))
        results: list[Applied] = []
        created = []
        for index, line, item, amount, shipping in planned:
            state.schedule_seq += 1
            refund_id = f"RF{state.schedule_seq}"
            line["refunds"].append({
                "id": refund_id, "amount": amount / 100, "shipping_amount": shipping / 100,
                "quantity": int(item.get("quantity") or 0), "reason_code": str(item["reason_code"]),
                "state": "WAITING_REFUND", "refund_state": "WAITING_REFUND", "created_date": iso(state.now()),
                "taxes": list(item.get("taxes") or []), "shipping_taxes": list(item.get("shipping_taxes") or []),
            })
            order_id = state.world.ids[index]
            state._at(state.options.refund_delay_seconds, "refund", f"{order_id}|{refund_id}")
            state._touch(index)
            results.append(Applied(order_id, ("refund",), targets={"refund": (line["order_line_id"],)}))
            created.append({"order_line_id": line["order_line_id"], "refund_id": refund_id, "amount": amount / 100})
    for result in results:
        result.body = {"order_tax_mode": "TAX_INCLUDED", "refunds": created}
    return results


def cancel_order(state: EmulatorState, order_id: str) -> Applied:
    with state.lock:
        index = state.lookup(order_id)
        order = state.order_dict(index)
        if order["order_state"] not in m.CANCELABLE:
            raise MiraklError(400, f"The order '{order_id}' cannot be canceled: its state is {order['order_state']}")
        for line in order["order_lines"]:
            if line["order_line_state"] not in m.STOPPED:
                line["order_line_state"] = "CANCELED"
                line["order_line_state_reason_code"] = "SHOP_CANCELED"
        state._touch(index)
    return Applied(order_id, ("cancel",))


def cancel_lines(state: EmulatorState, body: Any) -> list[Applied]:
    items = _body_list(body, "cancelations")
    reasons = {r["code"] for r in state.reasons_json() if r["type"] == "CANCELATION"}
    with state.lock:
        planned = []
        for item in items:
            line_id = str(item.get("order_line_id") or "")
            index, line = _find_line(state, line_id)
            if str(item.get("reason_code") or "") not in reasons:
                raise MiraklError(400, f"The cancelation reason code '{str(item.get('reason_code'))[:40]}' is unknown")
            if line["order_line_state"] not in m.CANCELABLE:
                raise MiraklError(400, f"Order line '{line_id}' cannot be canceled: its state is "
                                       f"{line['order_line_state']}")
            canceled_qty = sum(int(c.get("quantity") or 0) for c in line["cancelations"])
            quantity = item.get("quantity")
            if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 < quantity <= line["quantity"] - canceled_qty:
                raise MiraklError(400, f"The quantity to cancel on order line '{line_id}' must be between 1 and "
                                       f"{line['quantity'] - canceled_qty}")
            amount = _amount(item, "amount", line_id)
            if amount > m.remaining_cents(line):
                raise MiraklError(400, f"The amount to cancel is greater than the remaining amount of order line '{line_id}'")
            _check_taxes(item, line, amount, _amount(item, "shipping_amount", line_id), "cancel")
            planned.append((index, line, item, quantity, amount, canceled_qty))
        results = []
        for index, line, item, quantity, amount, canceled_qty in planned:
            line["cancelations"].append({"id": f"CA{len(line['cancelations']) + 1}", "quantity": quantity,
                                         "amount": amount / 100, "reason_code": str(item["reason_code"]),
                                         "created_date": iso(state.now()), "taxes": list(item.get("taxes") or [])})
            if canceled_qty + quantity >= line["quantity"]:
                line["order_line_state"] = "CANCELED"
                line["order_line_state_reason_code"] = "SHOP_CANCELED"
            state._touch(index)
            results.append(Applied(state.world.ids[index], ("cancel_lines",),
                                   targets={"cancel_lines": (line["order_line_id"],)}))
    return results


# --- OR72 / OR73 documents --------------------------------------------------------------------------

def _doc_dates(state: EmulatorState, index: int) -> tuple[str | None, str | None]:
    """(debited, first shipped) dates, from the changed order or straight from its plan."""
    order = state.world.dicts.get(index)
    if order is None:
        plan = state.world.plans[index]
        span = plan.updated - plan.created
        debited = iso(plan.created + min(3600.0, span / 3)) if plan.base in ACCEPTED_STATES else None
        shipped = iso(plan.created + span * 0.6) if plan.base in SHIPPED_STATES else None
        return debited, shipped
    live = any(line["order_line_state"] != "REFUSED" for line in order["order_lines"])
    shipped_dates = [line["shipped_date"] for line in order["order_lines"] if line.get("shipped_date")]
    return (order.get("customer_debited_date") if live else None), (min(shipped_dates) if shipped_dates else None)


def _documents_of(state: EmulatorState, index: int) -> list[dict[str, Any]]:
    order_id = state.world.ids[index]
    debited, shipped = _doc_dates(state, index)
    docs = []
    if debited:
        docs.append({"id": index * 4 + 1, "order_id": order_id, "type": "SYSTEM_DELIVERY_BILL",
                     "file_name": f"bon-de-livraison-{order_id}.pdf", "file_size": PDF_SIZE, "date_uploaded": debited})
    if shipped:
        docs.append({"id": index * 4 + 2, "order_id": order_id, "type": "CUSTOMER_INVOICE",
                     "file_name": f"facture-{order_id}.pdf", "file_size": PDF_SIZE, "date_uploaded": shipped})
    return docs


def _render(state: EmulatorState, index: int, doc_type: str) -> bytes:
    order = state.world.dicts.get(index) or build_order(state.world.plans[index], state.options.seed, state.carriers)
    address = order["customer"]["shipping_address"] if doc_type != "CUSTOMER_INVOICE" \
        else order["customer"]["billing_address"]
    lines = [f"Commande {order['order_id']} du {order['created_date'][:10]}", "",
             f"{address['firstname']} {address['lastname']}", address["street_1"],
             f"{address['zip_code']} {address['city']}", ""]
    lines += [f"{line['quantity']} x {line['offer_sku']}  {line['product_title'][:50]}  {line['price']:.2f} EUR"
              for line in order["order_lines"]]
    lines.append(f"Total {order['total_price']:.2f} EUR")
    return minimal_pdf(DOCUMENT_TYPES[doc_type], lines, size=PDF_SIZE)


def list_documents(state: EmulatorState, params: Mapping[str, str]) -> dict[str, Any]:
    ids = _id_list(params, "order_ids")
    if not ids:
        raise MiraklError(400, "The parameter 'order_ids' is required")
    with state.lock:
        state.tick()
        docs = []
        for order_id in ids:
            index = state.world.index.get(order_id)
            if index is not None:
                docs.extend(_documents_of(state, index))
    return {"order_documents": docs, "total_count": len(docs)}


def download_documents(state: EmulatorState, params: Mapping[str, str]) -> tuple[bytes, str, str]:
    """OR73: one document -> the file itself; several -> a ZIP with ``<order_id>/<file_name>`` entries."""
    doc_ids = _id_list(params, "document_ids")
    order_ids = _id_list(params, "order_ids")
    codes = set(_id_list(params, "document_codes") or [])
    if not doc_ids and not order_ids:
        raise MiraklError(400, "Either 'document_ids' or 'order_ids' is required")
    with state.lock:
        chosen: list[tuple[int, dict[str, Any]]] = []
        if doc_ids:
            for raw in doc_ids:
                try:
                    doc_id = int(raw)
                except ValueError:
                    raise MiraklError(400, f"Invalid document id '{raw[:40]}'") from None
                index = (doc_id - 1) // 4
                if 0 <= index < len(state.world):
                    chosen.extend((index, d) for d in _documents_of(state, index) if d["id"] == doc_id)
        else:
            for order_id in order_ids or []:
                index = state.world.index.get(order_id)
                if index is not None:
                    chosen.extend((index, d) for d in _documents_of(state, index) if not codes or d["type"] in codes)
        if not chosen:
            raise MiraklError(404, "No document found")
        if len(chosen) == 1:
            index, doc = chosen[0]
            return _render(state, index, doc["type"]), "application/pdf", doc["file_name"]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for index, doc in chosen:
                archive.writestr(f"{doc['order_id']}/{doc['file_name']}", _render(state, index, doc["type"]))
    return buffer.getvalue(), "application/zip", "documents.zip"
