"""Live meetings in real time: the per-process hub of followers and the fan-out between processes."""
