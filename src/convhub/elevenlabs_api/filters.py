"""``GET /v1/convai/conversations`` query → :class:`ConversationFilters`.

The string mini-languages of the ElevenLabs filters are parsed and checked
here, so a malformed value is a 422 naming the parameter and the repository
only ever sees conditions it can run:

* ``evaluation_params`` — ``criteria_id:result``, result one of success|failure|unknown;
* ``data_collection_params`` (and ``data_collection_filter``) — ``id:op:value`` with
  op one of eq|neq|gt|gte|lt|lte|in|exists|missing. ``in`` takes pipe-delimited
  values, gt|gte|lt|lte a finite number, exists|missing no value. As in ElevenLabs,
  ``id:eq:`` (empty value) means "not collected" and ``id:neq:`` "collected".
"""

from __future__ import annotations

import math
from typing import get_args

from convhub.conversations.repository import ConversationFilters, DataCondition, DataOp
from convhub.conversations.schemas import CallSuccessful
from convhub.elevenlabs_api.schemas import ConversationListQuery
from convhub.errors import Unprocessable
from convhub.kit.time import from_unix

_OPS: tuple[DataOp, ...] = get_args(DataOp)
_NUMERIC_OPS = frozenset({"gt", "gte", "lt", "lte"})
_OUTCOMES = tuple(outcome.value for outcome in CallSuccessful)


def to_filters(query: ConversationListQuery) -> ConversationFilters:
    """The repository filters of ``query``; raises :class:`Unprocessable` on a malformed value."""
    data_params = [*query.data_collection_params]
    if query.data_collection_filter is not None:
        data_params.append(query.data_collection_filter)
    return ConversationFilters(
        call_successful=query.call_successful.value if query.call_successful else None,
        started_before=None if query.call_start_before_unix is None else from_unix(query.call_start_before_unix),
        started_after=None if query.call_start_after_unix is None else from_unix(query.call_start_after_unix),
        duration_min=query.call_duration_min_secs,
        duration_max=query.call_duration_max_secs,
        rating_min=query.rating_min,
        rating_max=query.rating_max,
        has_feedback_comment=query.has_feedback_comment,
        user_id=query.user_id,
        evaluations=[parse_evaluation(text) for text in query.evaluation_params],
        data_collection=[
            parse_data_condition(
                text, "data_collection_params" if i < len(query.data_collection_params) else "data_collection_filter"
            )
            for i, text in enumerate(data_params)
        ],
        tool_names=[name for name in query.tool_names if name],
        search=query.search if query.search and query.search.strip() else None,
    )


def parse_evaluation(text: str) -> tuple[str, str]:
    """``criteria_id:result`` → (criteria_id, result)."""
    criteria_id, sep, result = text.rpartition(":")
    if not sep or not criteria_id:
        raise Unprocessable(
            f"Invalid evaluation_params value {text!r}: expected criteria_id:result, e.g. resolved:success.",
            loc=("query", "evaluation_params"),
        )
    if result not in _OUTCOMES:
        raise Unprocessable(
            f"Invalid evaluation_params value {text!r}: result must be one of {'|'.join(_OUTCOMES)}.",
            loc=("query", "evaluation_params"),
        )
    return criteria_id, result


def parse_data_condition(text: str, param: str = "data_collection_params") -> DataCondition:
    """``id:op:value`` → a :class:`DataCondition`."""

    def invalid(problem: str) -> Unprocessable:
        return Unprocessable(f"Invalid {param} value {text!r}: {problem}", loc=("query", param))

    field_id, sep, rest = text.partition(":")
    if not sep or not field_id:
        raise invalid("expected id:op:value, e.g. intent:eq:billing.")
    op, has_value, value = rest.partition(":")
    if op not in _OPS:
        raise invalid(f"unknown operator {op!r}; use one of {'|'.join(_OPS)}.")
    if op in ("exists", "missing"):
        if value:
            raise invalid(f"{op} takes no value (write {field_id}:{op}).")
        return DataCondition(field_id, op)
    if not has_value:
        raise invalid(f"{op} needs a value ({field_id}:{op}:<value>).")
    if op == "eq" and not value:
        return DataCondition(field_id, "missing")
    if op == "neq" and not value:
        return DataCondition(field_id, "exists")
    if op == "in":
        values = tuple(v for v in value.split("|") if v)
        if not values:
            raise invalid("in needs at least one value; pipe-delimit several (a|b|c).")
        return DataCondition(field_id, op, values)
    if op in _NUMERIC_OPS:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise invalid(f"{op} needs a number, got {value!r}.")
    return DataCondition(field_id, op, (value,))
