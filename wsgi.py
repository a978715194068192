"""WSGI entry point: gunicorn wsgi:app (APP_ENV selects the configuration)."""
from app import create_app
from app.marketplace.live_index import live_index

app = create_app()
live_index.start(app)  # each worker loads its caregiver search index now, not at the first search
