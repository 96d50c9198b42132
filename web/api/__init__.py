"""JSON routes, one module per resource; no route module imports another (DESIGN.md §2)."""
