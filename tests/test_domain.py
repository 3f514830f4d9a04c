"""The order model: statuses, declarations and action validation (pure, no I/O)."""

from lengow_tui.domain import (
    STATUS_GROUPS,
    ActionKind,
    ActionSpec,
    ArgType,
    ArgumentSpec,
    Choice,
    LineFacts,
    LineSelection,
    MarketplaceDeclaration,
    OrderFacts,
    Status,
    StatusMap,
    aggregate_line_statuses,
    validate_action,
)
from lengow_tui.domain.declarations import when_argument, when_order

S = Status

DECL = MarketplaceDeclaration(
    code="testmp",
    name="Test MP",
    status_map=StatusMap(
        order={"WAIT": S.WAITING_ACCEPTANCE, "TO_SHIP": S.WAITING_SHIPMENT, "SENT": S.SHIPPED},
        lines={"L_WAIT": S.WAITING_ACCEPTANCE, "L_SHIP": S.WAITING_SHIPMENT, "L_SENT": S.SHIPPED,
               "L_CANCEL": S.CANCELED, "L_REFUNDED": S.REFUNDED},
        derive_from_lines=True,
    ),
    actions=(
        ActionSpec(ActionKind.ACCEPT, frozenset({S.WAITING_ACCEPTANCE}), per_line=True, result_status=S.ACCEPTED),
        ActionSpec(
            ActionKind.SHIP,
            frozenset({S.WAITING_SHIPMENT}),
            arguments=(
                ArgumentSpec("carrier", "Carrier", ArgType.CHOICE, required=True,
                             valid_values=(Choice("UPS", "UPS"), Choice("Other", "Other")), accept_free_values=False),
                ArgumentSpec("carrier_name", "Carrier name", required_when=(when_argument("carrier", "Other"),)),
                ArgumentSpec("tracking_number", "Tracking number", required_when=(when_order("delivery_type", "tracked"),)),
                ArgumentSpec("shipped_on", "Shipping date", ArgType.DATE),
            ),
        ),
        ActionSpec(ActionKind.REFUND, frozenset({S.SHIPPED}), per_line=True, partial=True,
                   arguments=(ArgumentSpec("reason", "Reason", ArgType.CHOICE, required=True,
                                           valid_values=(Choice("DAMAGED", "Damaged"),), accept_free_values=False,
                                           default="DAMAGED"),)),
    ),
)


def facts(status, delivery_type=None, lines=()):
    return OrderFacts(status=status, raw_status="X", delivery_type=delivery_type, lines=tuple(lines))


def test_sixteen_statuses_in_four_groups_each_once():
    grouped = [s for members in STATUS_GROUPS.values() for s in members]
    assert sorted(grouped) == sorted(Status) and len(grouped) == 16
    assert Status.PARTIAL_REFUNDED.label == "Partial refunded"


def test_declaration_is_consistent_and_problems_are_named():
    assert DECL.check() == []
    bad = MarketplaceDeclaration(
        code="Bad Code", name="x", status_map=StatusMap(order={"A": "shipped_ok"}),  # type: ignore[dict-item]
        actions=(ActionSpec(ActionKind.SHIP, frozenset()),),
    )
    problems = " | ".join(bad.check())
    assert "lowercase slug" in problems
    assert "'shipped_ok', which is not one of the 16 common statuses" in problems
    assert "allowed from no status" in problems


def test_status_map_unknown_raw_is_none_and_case_folds():
    assert DECL.status_map.order_status("wait") is S.WAITING_ACCEPTANCE
    assert DECL.status_map.order_status("ON_HOLD") is None
    assert DECL.status_map.resolve("WAIT", ["L_SENT", "L_CANCEL"]) is S.SHIPPED
    assert DECL.status_map.resolve("WAIT", ["L_SENT", "NOPE"]) is S.WAITING_ACCEPTANCE  # falls back to order level


def test_line_aggregation_rule():
    assert aggregate_line_statuses([S.CANCELED, S.CANCELED]) is S.CANCELED
    assert aggregate_line_statuses([S.SHIPPED, S.CANCELED]) is S.SHIPPED
    assert aggregate_line_statuses([S.SHIPPED, S.WAITING_SHIPMENT]) is S.WAITING_SHIPMENT
    assert aggregate_line_statuses([S.REFUNDED, S.REFUNDED]) is S.REFUNDED
    assert aggregate_line_statuses([S.REFUNDED, S.CLOSED]) is S.PARTIAL_REFUNDED
    assert aggregate_line_statuses([S.REFUNDED, S.CANCELED]) is S.PARTIAL_REFUNDED
    assert aggregate_line_statuses([S.TO_REFUND, S.CLOSED]) is S.TO_REFUND
    assert aggregate_line_statuses([]) is None


def test_ship_tracked_order_without_tracking_names_the_argument():
    result = validate_action(DECL, facts(S.WAITING_SHIPMENT, "tracked"), "ship", {"carrier": "UPS"})
    assert not result.ok
    assert [p.field for p in result.problems] == ["tracking_number"]
    assert "required when the order's delivery type is 'tracked'" in result.problems[0].message
    ok = validate_action(DECL, facts(S.WAITING_SHIPMENT, "letter"), "ship", {"carrier": "UPS"})
    assert ok.ok and ok.arguments == {"carrier": "UPS"}


def test_carrier_other_requires_carrier_name_and_choices_are_enforced():
    result = validate_action(DECL, facts(S.WAITING_SHIPMENT), "ship", {"carrier": "other"})
    assert [p.field for p in result.problems] == ["carrier_name"]
    result = validate_action(DECL, facts(S.WAITING_SHIPMENT), "ship", {"carrier": "FedUp"})
    assert result.problems[0].field == "carrier" and "not a valid value" in result.problems[0].message


def test_every_problem_reported_at_once():
    result = validate_action(DECL, facts(S.WAITING_ACCEPTANCE, "tracked"), "ship",
                             {"carrier": "", "shipped_on": "tomorrow", "colour": "red"})
    fields = {p.field for p in result.problems}
    assert fields == {"action", "colour", "carrier", "tracking_number", "shipped_on"}


def test_action_not_declared_or_not_allowed_from_status():
    assert "does not support cancel" in validate_action(DECL, facts(S.WAITING_SHIPMENT), "cancel").problems[0].message
    result = validate_action(DECL, facts(S.SHIPPED), "accept")
    assert result.problems[0].field == "action" and "Waiting Acceptance" in result.problems[0].message
    unknown = validate_action(DECL, facts(None), "accept")
    assert "flagged for review" in unknown.problems[0].message


def test_per_line_selection_and_partial_refund():
    lines = [LineFacts("1", 2, 2000, S.SHIPPED), LineFacts("2", 1, 500, S.CANCELED)]
    default = validate_action(DECL, facts(S.SHIPPED, lines=lines), "refund")
    assert default.ok and [l.line_id for l in default.lines] == ["1"] and default.arguments == {"reason": "DAMAGED"}
    partial = validate_action(DECL, facts(S.SHIPPED, lines=lines), "refund", {}, [LineSelection("1", 1, 1000)])
    assert partial.ok
    too_much = validate_action(DECL, facts(S.SHIPPED, lines=lines), "refund", {}, [LineSelection("1", 3, 9999)])
    assert len(too_much.problems) == 2
    canceled_line = validate_action(DECL, facts(S.SHIPPED, lines=lines), "refund", {}, [LineSelection("2")])
    assert "Canceled" in canceled_line.problems[0].message
    not_per_line = validate_action(DECL, facts(S.WAITING_SHIPMENT), "ship", {"carrier": "UPS"}, [LineSelection("1")])
    assert not_per_line.problems[0].field == "lines"


def test_control_characters_in_arguments_are_refused():
    result = validate_action(DECL, facts(S.WAITING_SHIPMENT), "ship", {"carrier": "UPS", "carrier_name": "x\x1b[31m"})
    assert result.problems[0].field == "carrier_name" and "control characters" in result.problems[0].message


def test_reconciliation_sees_an_action_s_effect_in_later_statuses():
    from lengow_tui.domain.statuses import shows_effect

    S = Status
    assert shows_effect(S.ACCEPTED, S.ACCEPTED)
    assert shows_effect(S.ACCEPTED, S.WAITING_SHIPMENT) and shows_effect(S.ACCEPTED, S.SHIPPED)
    assert not shows_effect(S.ACCEPTED, S.WAITING_ACCEPTANCE) and not shows_effect(S.ACCEPTED, S.NEW)
    assert not shows_effect(S.ACCEPTED, S.CANCELED) and not shows_effect(S.SHIPPED, S.CANCELED)
    assert shows_effect(S.SHIPPED, S.CLOSED) and not shows_effect(S.SHIPPED, S.WAITING_SHIPMENT)
    assert shows_effect(S.REFUNDING, S.REFUNDED) and shows_effect(S.REFUNDING, S.PARTIAL_REFUNDED)
    assert not shows_effect(S.REFUNDING, S.SHIPPED)
    assert shows_effect(S.REFUSED, S.REFUSED) and shows_effect(S.REFUSED, S.CANCELED)
    assert not shows_effect(S.REFUSED, S.ACCEPTED)
    assert shows_effect(S.TO_PICKUP, S.PICKUP_COMPLETED) and not shows_effect(S.TO_PICKUP, S.SHIPPED)
    assert not shows_effect(S.ACCEPTED, None)
    assert shows_effect(S.ACCEPTED, S.PICKUP_TO_PREPARE)  # accepting a pick-up order leads there
