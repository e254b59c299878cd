"""Qt windows and panels. Views never import sqlalchemy or desktop.models: they call services
through AppContext.run (writes) and AppContext.read (reads)."""
