"""The transactional outbox: side effects after a commit go through one door (R-OPS-1)."""
