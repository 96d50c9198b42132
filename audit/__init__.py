"""The append-only, tamper-evident audit log (DESIGN.md §5; format in docs/audit.md)."""
