"""Every step of a held meeting, one module per noun; each writes its audit entry and its event."""
