"""Organisation, bodies, members, meetings, agendas, attendance, quorum, speakers and proposals."""
