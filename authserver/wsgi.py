"""WSGI entry point for servers other than ``protekt serve``: ``authserver.wsgi:app``."""

from authserver import create_app

app = create_app()
