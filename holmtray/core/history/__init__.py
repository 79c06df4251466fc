"""The durable event history: database (open/check/recover), schema, codec, query, store,
writer (group commit and named operations) and health."""
