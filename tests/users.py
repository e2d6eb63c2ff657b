"""Staff users for the tests, in the console's groups."""

from django.contrib.auth.models import Group, User


def staff(username: str, group: str, *, password: str = "pw") -> User:
    """A staff user in `group` (one of the groups migrate creates)."""
    user = User.objects.create_user(username, password=password, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user
