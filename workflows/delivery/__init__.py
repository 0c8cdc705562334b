"""Delivery of the outbox: configuration, transports, the dispatcher."""
