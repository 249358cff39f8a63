from strategy_briefs import warehouse


def test_session_database_is_migrated(db):
    tables = {
        row[0]
        for row in db.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_schema = 'raw'"
        )
    }
    assert {"raw.lob_figures", "raw.load_audit"} <= tables


def test_parse_url_keeps_socket_host_and_password():
    params = warehouse.parse_url("postgresql://loader:s%40cret@/wh?host=/tmp/sock&port=5433")
    assert (params.host, params.port, params.user, params.password, params.dbname) == (
        "/tmp/sock",
        5433,
        "loader",
        "s@cret",
        "wh",
    )
    assert warehouse.parse_url(params.url()) == params
