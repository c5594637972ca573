"""Entry point for gunicorn and `flask --app wsgi`: builds the app, nothing else."""

from app import create_app

app = create_app()
