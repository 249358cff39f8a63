"""One month's rows of a warehouse table, the columns a test compares, in a fixed order."""

from __future__ import annotations

from strategy_briefs.periods import Period


def month_rows(
    db,
    table: str,
    columns: str,
    period: str,
    *,
    order_by: str = "load_id",
    lob_code: str | None = None,
) -> list[tuple]:
    """`columns` of `table`'s rows of `period` (YYYY-MM; the table keeps its first day),
    of one line of business if `lob_code` is given, ordered by `order_by`."""
    sql = f"select {columns} from {table} where period = %s"
    params: list = [Period.parse(period).first_day]
    if lob_code:
        sql += " and lob_code = %s"
        params.append(lob_code)
    return db.execute(f"{sql} order by {order_by}", params).fetchall()
