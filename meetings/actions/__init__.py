"""Every change to the organisation, bodies, members, meetings, agendas and calls, one module per noun;
each action writes its audit entry in the caller's transaction."""
