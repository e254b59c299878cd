"""Alembic environment: the engine comes from desktop.services.db via config attributes."""

from alembic import context

from desktop.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    engine = config.attributes.get("engine")
    if engine is None:  # plain `alembic` command line: sqlalchemy.url from the ini
        from sqlalchemy import create_engine
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata,
                          render_as_batch=conn.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()


run()
