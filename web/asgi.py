"""The ASGI entry point for uvicorn (and any other ASGI server): settings come from KOKOUS_* variables."""

from core.config import settings_from_env
from web.app import create_app

app = create_app(settings_from_env())
