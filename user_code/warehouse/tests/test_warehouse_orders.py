from datetime import date

import pytest

from warehouse.lib.orders import generate_orders
from warehouse.lib.revenue import daily_revenue, markdown_table


def test_orders_are_the_same_for_the_same_seed_and_differ_for_another() -> None:
    first = generate_orders(3, 5, seed=1, start=date(2026, 1, 1))
    assert first == generate_orders(3, 5, seed=1, start=date(2026, 1, 1))
    assert first != generate_orders(3, 5, seed=2, start=date(2026, 1, 1))
    assert [o.order_id for o in first] == list(range(1, 16))
    assert {o.day for o in first} == {"2026-01-01", "2026-01-02", "2026-01-03"}


def test_bad_sizes_are_refused_with_both_values() -> None:
    with pytest.raises(ValueError, match="got 0 and 5"):
        generate_orders(0, 5, seed=1, start=date(2026, 1, 1))


def test_duckdb_aggregates_per_day_like_plain_python() -> None:
    orders = generate_orders(4, 7, seed=3, start=date(2026, 2, 27))
    rows = daily_revenue(orders)
    assert [r.day for r in rows] == ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]
    for row in rows:
        of_day = [o for o in orders if o.day == row.day]
        assert row.orders == len(of_day)
        assert row.revenue_cents == sum(o.amount_cents for o in of_day)
        assert row.customers == len({o.customer for o in of_day})
    assert markdown_table(rows).count("\n") == len(rows) + 1
