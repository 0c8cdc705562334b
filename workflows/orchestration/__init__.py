"""Prefect: the flows, submitting a trigger, the server and serving, the process pool, the
artifacts and the engine alerts."""
