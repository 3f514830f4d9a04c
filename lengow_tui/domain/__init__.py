"""The order model: statuses, actions, marketplace declarations and validation.

Pure Python, no I/O. Everything else (store, sync, TUI, connectors) builds on these names.
"""

from lengow_tui.domain.declarations import (
    ActionKind,
    ActionSpec,
    ArgType,
    ArgumentSpec,
    CarrierSpec,
    Choice,
    Condition,
    DocumentKind,
    DocumentSpec,
    MarketplaceDeclaration,
    StatusMap,
)
from lengow_tui.domain.statuses import (
    STATUS_GROUPS,
    STATUS_LABELS,
    Status,
    StatusGroup,
    aggregate_line_statuses,
    group_of,
)
from lengow_tui.domain.validation import (
    LineFacts,
    LineSelection,
    OrderFacts,
    Problem,
    ValidatedAction,
    validate_action,
)

__all__ = [
    "ActionKind",
    "ActionSpec",
    "ArgType",
    "ArgumentSpec",
    "CarrierSpec",
    "Choice",
    "Condition",
    "DocumentKind",
    "DocumentSpec",
    "LineFacts",
    "LineSelection",
    "MarketplaceDeclaration",
    "OrderFacts",
    "Problem",
    "STATUS_GROUPS",
    "STATUS_LABELS",
    "Status",
    "StatusGroup",
    "StatusMap",
    "ValidatedAction",
    "aggregate_line_statuses",
    "group_of",
    "validate_action",
]
