"""The tests' made-up branches, one list for the dbt tests' raw rows
(tests/dbt/sample_raw_rows.py) and the brief tests' facts (`demo_facts`): the page names
branches but publishes few of their figures, so the rest of each standing is made up here.
"""

from __future__ import annotations

# (branch, June 2020 clients, increase since December), in 户: made up so that 广东, 北京,
# 浙江 hold 1万 and 江苏, 广东, 山东, 浙江, 北京 added over 1000, as the page says; 上海 neither.
BRANCH_CLIENTS = [
    ("广东", 13210, 1366),
    ("北京", 12180, 1025),
    ("浙江", 10460, 1161),
    ("江苏", 9630, 1516),
    ("上海", 8870, 508),
    ("山东", 7120, 1285),
]
CLIENTS_UNIT = "户"

# Below each branch figure the page publishes (its first branch), two made-up branches, in
# the page's unit of that figure, the same every month.
BRANCHES_BELOW = {
    "pb_branch_fx_asset_penetration": [("北京", "41"), ("广东", "37")],
    "pb_branch_credit_card_coverage": [("上海", "66"), ("江苏", "61")],
    "pb_branch_rongex_coverage": [("浙江", "91"), ("广东", "88")],
    "pb_branch_inclusive_drawdown_cum": [("江苏", "27.3"), ("广东", "24.1")],
}
