"""Extension objects, created unbound and attached in create_app."""

from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from therapy.models.base import Base


def client_address() -> str:
    """The client's address, as ProxyFix settled it from the trusted hops only."""
    return request.remote_addr or "unknown"


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=client_address)
