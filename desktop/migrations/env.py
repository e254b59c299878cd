"""Alembic environment: the engine comes from desktop.services.db via config attributes."""

from alembic import context

from desktop.models import Base

config = context.config
target_metadata = Base.metadata


MIGRATION_LOCK = 0x66616E70  # the advisory lock key of migrations on PostgreSQL ("fanp")


def _lock_migrations(conn) -> None:
    """Two seats starting on one database at once: the second waits here until the first has migrated (then finds
    nothing to do). PostgreSQL: a transaction-scoped advisory lock. SQLite: the write lock, taken now."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def run() -> None:
    engine = config.attributes.get("engine")
    if engine is None:  # plain `alembic` command line: sqlalchemy.url from the ini
        from sqlalchemy import create_engine
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            # A batch migration rebuilds a table (copy, DROP, rename). With foreign keys on, dropping a table that
            # members or cases point at fails on any database that holds data, so they are off while migrating
            # (the pragma works only outside a transaction) and every reference is checked before committing.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=sqlite)
            with context.begin_transaction():
                _lock_migrations(conn)
                context.run_migrations()  # reads the version now, after the lock: a second seat finds the head
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left {len(broken)} broken references, first: {broken[0]}")
            conn.commit()
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")


run()
