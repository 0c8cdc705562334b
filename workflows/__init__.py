"""The shell of gpv: store, command line, Prefect flows, launcher."""
