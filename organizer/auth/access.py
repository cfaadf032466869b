"""Route guards by role. Row-level rules (whose people) live in ``people.services``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort
from flask_login import current_user, login_required

from organizer.auth.models import Role

P = ParamSpec("P")
R = TypeVar("R")


def roles_required(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Allow the view only to logged-in users with one of ``roles``; others get 403."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        @login_required
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


staff_required = roles_required(Role.ADMIN, Role.ORGANIZER)
admin_required = roles_required(Role.ADMIN)


def staff_or_404(view: Callable[P, R]) -> Callable[P, R]:
    """Organizers and admins only; to anyone else signed in the page does not exist (404). The
    same holds when its URL is asked with a method it does not take or with an expired form
    (``web``'s error handlers ask ``is_hidden_from_non_staff``): a 405 or 400 would tell a
    leader the page exists."""

    @wraps(view)
    @login_required
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_staff:
            abort(404)
        return view(*args, **kwargs)

    wrapped.hidden_from_non_staff = True  # type: ignore[attr-defined]
    return wrapped


def is_hidden_from_non_staff(view: Callable[..., object] | None) -> bool:
    """Whether ``view`` is guarded by ``staff_or_404``."""
    return getattr(view, "hidden_from_non_staff", False)
