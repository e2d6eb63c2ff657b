"""Who is calling: a staff session (CSRF-checked on writes) or an API token."""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from api.models import ApiToken, token_digest
from customers.selectors import customer_visible_to


def error(status: int, code: str, detail: str) -> JsonResponse:
    """The one error shape of the API."""
    return JsonResponse({"error": code, "detail": detail}, status=status)


def allow(*methods: str) -> Callable:
    """Answer any other method 405 in the API's error shape, naming the allowed ones."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if request.method not in methods:
                response = error(405, "method_not_allowed", f"Use {' or '.join(methods)}.")
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _token(request: HttpRequest) -> ApiToken | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    token = (
        ApiToken.objects.select_related("user", "customer")
        .filter(digest=token_digest(value.strip()), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def _csrf_failure(request: HttpRequest):
    check = CsrfViewMiddleware(lambda req: None)
    return check.process_view(request, None, (), {})


def api_view(*, permission: str) -> Callable:
    """Require a staff caller with `permission`; answer 401/403 as JSON otherwise.

    A bearer token needs no CSRF token (it is not sent by browsers on their own); a
    session caller does, on anything but safe methods.
    """

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            # The customer a scoped token is limited to; None for sessions and unscoped tokens.
            request.token_customer = None
            if "Authorization" in request.headers:
                token = _token(request)
                if token is None:
                    return error(401, "unauthorized", "Invalid or revoked API token.")
                user, request.token_customer = token.user, token.customer
                if token.customer_id is not None and not customer_visible_to(
                    user, token.customer_id
                ):
                    # Made for a customer its user has since left (or never belonged to).
                    return error(
                        403, "forbidden", "This token's user no longer acts for its customer."
                    )
            else:
                user = request.user
                if not user.is_authenticated:
                    return error(401, "unauthorized", "Log in to the admin or send an API token.")
                if request.method not in ("GET", "HEAD", "OPTIONS") and _csrf_failure(request):
                    return error(403, "csrf_failed", "CSRF token missing or incorrect.")
            if not (user.is_active and user.is_staff):
                return error(403, "forbidden", "Staff access only.")
            if not user.has_perm(permission):
                return error(403, "forbidden", f"Permission {permission} required.")
            request.user = user
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
