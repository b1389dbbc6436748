"""The render process itself: `python -m therapy.pdf.child FD STATIC_FOLDER STATIC_URL_PATH`.

Started by worker.RenderProcess; talks to it over the socket FD with
multiprocessing.connection (pickled RenderJobs in, ("ok", pdf) or an error out).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from multiprocessing.connection import Connection

from therapy.pdf.errors import PdfTooLarge

log = logging.getLogger("therapy.pdf.child")


def serve(conn: Connection, static_folder: str, static_url_path: str) -> None:
    """The child's loop: render each job received, answer with ("ok", pdf) or an error."""
    from therapy.pdf.engine import Engine

    engine = Engine(static_folder, static_url_path)
    engine.warm_up()
    # Python's cyclic garbage collector ran in the middle of renders, each full pass over
    # everything WeasyPrint had loaded: a report took 80-100 ms longer one time in four or
    # five. The modules, fonts and stylesheets loaded so far stay for the process's life,
    # so they are frozen out of every later pass, and the collector runs between jobs,
    # after the answer is sent (6-9 ms for what a report leaves behind), not during them.
    gc.disable()
    gc.collect()
    gc.freeze()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the web process closed the socket or exited
        try:
            conn.send(("ok", engine.render(job)))
        except PdfTooLarge as error:
            conn.send(("too_large", error.pages))
        except Exception as error:  # reported to the web process, which raises PdfError
            log.exception("PDF render failed")
            conn.send(("error", f"{type(error).__name__}: {error}"))
        finally:
            gc.collect()


def main(argv: list[str]) -> None:
    """Serve render jobs on the inherited socket until the web process goes away."""
    fd, static_folder, static_url_path = argv
    logging.basicConfig(level=logging.WARNING, format="tandem-pdf: %(levelname)s %(message)s")
    serve(Connection(int(fd)), static_folder, static_url_path)


if __name__ == "__main__":
    main(sys.argv[1:])
