"""The sync package's public face is exactly the intended names (as httpx checks its own)."""

import fieldhall.sync


def test_sync_exports_exactly_the_intended_names() -> None:
    assert fieldhall.sync.__all__ == [
        "ADMIN",
        "BlobStore",
        "ChangeNotifier",
        "ChannelFunction",
        "CouchError",
        "Database",
        "IncomingDoc",
        "PostgresListener",
        "Principal",
        "Store",
        "Unchanged",
        "WriteContext",
        "WritePolicy",
        "create_store_engine",
        "parse_incoming",
    ]
    for name in fieldhall.sync.__all__:
        assert getattr(fieldhall.sync, name) is not None


def test_the_cli_offers_exactly_the_staff_roles() -> None:
    from fieldhall.field_app_api.staff import ROLES
    from fieldhall.server.cli import STAFF_ROLES

    assert STAFF_ROLES == ROLES
