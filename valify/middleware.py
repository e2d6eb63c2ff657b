"""Middleware that runs before everything else: body size limit, the health probe, and
requests no view can take (NUL characters, a form that cannot be parsed)."""

from django.conf import settings
from django.core.exceptions import SuspiciousOperation, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.http.request import split_domain_port, validate_host

# Room for the form's other fields and the multipart framing beside the files.
FORM_OVERHEAD_BYTES = 1024 * 1024


def max_request_bytes() -> int:
    """The largest request body accepted: one upload's files plus the form around them."""
    return settings.MAX_UPLOAD_MB * 1024 * 1024 + FORM_OVERHEAD_BYTES


class RequestSizeLimitMiddleware:
    """Refuse a body over the limit from its Content-Length, before a byte of it is read.

    On every URL, logged in or not: otherwise Django reads and spools the whole body (the
    login page, the CSRF check) before it can answer. A body without a Content-Length is
    read as empty by Django, so the header is all there is to check, and a chunked body,
    which has none, is refused with 411 rather than taken for an empty one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse(
                {"error": "bad_request", "detail": "Content-Length is not a number."}, status=400
            )
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not length:
            # Django would read the body as empty: an upload would be refused as no file.
            response = JsonResponse(
                {
                    "error": "length_required",
                    "detail": "Send the body with a Content-Length header: a chunked request"
                    " body (Transfer-Encoding: chunked) is not read.",
                },
                status=411,
            )
            response["Connection"] = "close"
            return response
        limit = max_request_bytes()
        if length > limit:
            response = JsonResponse(
                {
                    "error": "too_large",
                    "detail": f"The request body is {length:,} bytes; at most {limit:,} are "
                    f"accepted (MAX_UPLOAD_MB={settings.MAX_UPLOAD_MB} plus 1 MB for the form).",
                },
                status=413,
            )
            # The unread body is still on the socket: the connection cannot be reused.
            response["Connection"] = "close"
            return response
        return self.get_response(request)


class HealthProbeMiddleware:
    """Answer `/health` for a probe that uses a host name the site does not serve.

    Platforms (Railway, Render, Heroku) probe from their own host names, which
    DJANGO_ALLOWED_HOSTS rightly refuses; such a probe gets the anonymous answer here,
    without the host check. Any other request goes through the whole stack.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == "/health" and not _host_allowed(request):
            from api.views import health_response

            return health_response(detail=False)
        return self.get_response(request)


def _host_allowed(request: HttpRequest) -> bool:
    domain, _ = split_domain_port(request._get_raw_host())
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


class UnreadableRequestMiddleware:
    """Answer 400 in the API's error shape for a request no view can take.

    A NUL character (%00) in the path, the query string or a form field: PostgreSQL cannot
    hold one in text, so looking it up failed with a 500 (an admin filter, a batch id, a
    customer or a profile name). A form that cannot be parsed (no multipart boundary, too
    many fields or files): Django answers with an HTML page. The body is read here only for
    a logged-in session, whose form the CSRF check reads anyway; a script's, after its token
    is checked, by the view (form_problem).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info:
            return _bad_request("The URL holds a NUL character (%00), which no value may hold.")
        problem = _nul_in("query string", request.GET)
        if problem is None and request.method == "POST" and request.user.is_authenticated:
            problem = form_problem(request)
        return _bad_request(problem) if problem else self.get_response(request)


def form_problem(request: HttpRequest) -> str | None:
    """Why the request's form cannot be taken, or None."""
    try:
        request.FILES  # noqa: B018 - parsing the body is the point
    except TooManyFilesSent:
        return f"Send at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files in one request."
    except (MultiPartParserError, SuspiciousOperation) as exc:
        return f"The request's form body cannot be read: {exc}"
    except UnreadablePostError:  # the client went away partway through its upload
        return "The request's body was cut off before its end: send it again."
    return _nul_in("form", request.POST)


def _nul_in(where: str, values) -> str | None:
    for key, found in values.lists():
        if "\x00" in key or any("\x00" in value for value in found):
            return f"The {where} holds a NUL character (%00) in {key!r}, which no value may hold."
    return None


def _bad_request(detail: str) -> JsonResponse:
    return JsonResponse({"error": "bad_request", "detail": detail}, status=400)
