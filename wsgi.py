"""What `flask --app wsgi` and `gunicorn wsgi:app` load."""

from dispatch import create_app

app = create_app()
