"""The HTTP and WebSocket face of Kokous; the only package that imports Litestar."""
