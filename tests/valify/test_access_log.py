"""The web server's access log keeps no query string: searches name people."""

import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config
from gunicorn.glogging import Logger

ROOT = Path(__file__).resolve().parents[2]


def test_a_search_for_an_email_leaves_no_trace_in_the_access_log():
    config = Config()
    config.set(
        "access_log_format", runpy.run_path(str(ROOT / "gunicorn.conf.py"))["access_log_format"]
    )
    config.set("accesslog", "-")
    logger = Logger(config)
    search = "/admin/leads/leadvalidation/?q=jo%40example.com"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": search,
        "PATH_INFO": "/admin/leads/leadvalidation/",
        "QUERY_STRING": "q=jo%40example.com",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": f"https://valify.example{search}",
        "HTTP_USER_AGENT": "Mozilla/5.0",
    }
    response = SimpleNamespace(status="200 OK", sent=512, headers=[])
    atoms = logger.atoms_wrapper_class(logger.atoms(response, [], environ, timedelta(seconds=0)))

    line = config.access_log_format % atoms

    assert '"GET /admin/leads/leadvalidation/ HTTP/1.1" 200 512' in line
    assert "example.com" not in line and "q=" not in line
