"""The cross-cutting parts every app stands on: domain errors, idempotent POSTs, the outbox,
overload shedding, outage answers, request parameters. It imports no app of Tidbok."""
