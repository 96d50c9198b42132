"""HTML pages, one module per audience and resource; what several pages share is in context.py."""
