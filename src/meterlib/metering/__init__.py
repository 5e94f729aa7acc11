"""Metering: usage events, meters, aggregation and the ledger."""
