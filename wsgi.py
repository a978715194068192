"""WSGI entry point: gunicorn wsgi:app (APP_ENV selects the configuration)."""
from app import create_app

app = create_app()
