"""A hello-world Flask app, served by the server benchmark exactly as Tandem is: the ceiling."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, world"
