"""Tandem: session planning and progress tracking for couples therapists."""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from therapy import config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

log = logging.getLogger(__name__)

# Python's cyclic garbage collector, tuned for a worker whose loaded app (the exercise
# library, SQLAlchemy's mappings, templates: about 200,000 objects) lives as long as the
# worker. Frozen at boot, those objects are no longer walked by each full collection
# (measured: about 40 ms each, every ~100 requests of the caseload page, a p99 spike),
# and a larger first threshold lets a request's short-lived objects die by reference
# counting before a collection looks at them (measured on the caseload page, in-process:
# 7.2 -> 6.4 ms of CPU per request; bench/profile_pages.py). Reference cycles are still
# collected, only less often.
GC_THRESHOLDS = (7000, 10, 10)


def create_app(
    test_config: dict[str, Any] | None = None, instance_path: str | None = None
) -> Flask:
    """Build the application: configuration, extensions, blueprints, hooks."""
    app = Flask(
        __name__,
        instance_path=instance_path or str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    config.load(app, test_config)
    register_proxy(app)
    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)
    register_commands(app)
    return app


def register_proxy(app: Flask) -> None:
    hops = app.config["PROXY_HOPS"]
    if hops:
        # Trust exactly the configured number of proxies; a forged header beyond them is
        # ignored. Host and prefix only when asked for: a proxy that passes a client's own
        # X-Forwarded-Host on would let it choose the host of the partner links printed.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=hops,
            x_proto=hops,
            x_host=hops if app.config["PROXY_FORWARDED_HOST"] else 0,
            x_prefix=hops if app.config["PROXY_FORWARDED_PREFIX"] else 0,
        )


def register_extensions(app: Flask) -> None:
    from therapy import (
        database,  # registers the SQLite connection settings too
        pagecache,
        pdf,
    )
    from therapy.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            database.ping_idle_connections(engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    pdf.init_app(app)
    pagecache.init_app(app)


def register_blueprints(app: Flask) -> None:
    from therapy.admin.views import bp as admin_bp
    from therapy.auth.factor_views import bp as factors_bp
    from therapy.auth.reset_views import bp as reset_bp
    from therapy.auth.views import bp as auth_bp
    from therapy.checkins.partner import bp as partner_bp
    from therapy.checkins.views import bp as checkins_bp
    from therapy.couples.views import bp as couples_bp
    from therapy.handouts.views import bp as handouts_bp
    from therapy.library.views import bp as exercises_bp
    from therapy.main.views import bp as main_bp
    from therapy.measures.views import bp as measures_bp
    from therapy.progress.views import bp as progress_bp
    from therapy.safety.views import bp as safety_bp
    from therapy.sessions.views import bp as sessions_bp
    from therapy.week.views import bp as week_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(factors_bp)
    app.register_blueprint(reset_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(exercises_bp)
    app.register_blueprint(couples_bp)
    app.register_blueprint(handouts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(sessions_bp)
    app.register_blueprint(checkins_bp)
    app.register_blueprint(partner_bp)
    app.register_blueprint(progress_bp)
    app.register_blueprint(measures_bp)
    app.register_blueprint(week_bp)
    app.register_blueprint(safety_bp)


def register_hooks(app: Flask) -> None:
    from therapy import errors, security, text, timeutil
    from therapy.auth import second_factor, sessions

    text.init_app(app)
    timeutil.init_app(app)
    sessions.init_app(app)
    second_factor.init_app(app)
    security.init_app(app)
    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from therapy import cli

    cli.init_app(app)


def warm_up(app: Flask) -> threading.Thread | None:
    """Pay a worker's first-request costs as it boots (gunicorn.conf.py's post_worker_init):
    the PDF render process starts in the background (the returned thread), and here every
    template is compiled and a chart of each kind drawn. Without it the first progress
    report after a start spent 44-76 ms compiling its templates (3 ms after), and each
    page's first visit paid for compiling its own. None for an app that is not Tandem's."""
    from therapy import pdf
    from therapy.progress import charts

    thread = pdf.warm_up(app)
    if thread is None:
        return None
    for name in app.jinja_env.list_templates(extensions=["html"]):
        try:
            app.jinja_env.get_template(name)
        except Exception:  # the page that uses it shows the error when it is asked for
            log.warning("Compiling template %s ahead failed", name, exc_info=True)
    charts.warm_up()
    return thread


def settle_gc() -> None:
    """Freeze what the process has loaded so far and set GC_THRESHOLDS: for a gunicorn
    worker once it has warmed up (gunicorn.conf.py), and for benchmarks that measure
    requests as such a worker serves them."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
