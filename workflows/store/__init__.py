"""The case store: tables, engine and sessions, the audit chain, the outbox, migrations, and the
one rule that turns a decision into rows. Imports neither Prefect nor typer (a test checks it)."""
