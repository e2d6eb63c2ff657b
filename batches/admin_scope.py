"""Scoping of the admin: staff see and act on only their customers' data, failing closed."""

from customers.selectors import user_sees_all_customers


class VisibleBatchesMixin:
    """Filter a model admin's rows through batches_visible, so lists, change pages (404 for
    others), actions and exports cover only the user's customers.

    ``batch_path`` is the lookup from this model to its batch ("" for the batch itself).
    """

    batch_path = "batch"

    def get_queryset(self, request):
        from batches.selectors import batches_visible

        queryset = super().get_queryset(request)
        if user_sees_all_customers(request.user):
            return queryset
        visible = batches_visible(user=request.user).values("pk")
        lookup = f"{self.batch_path}__in" if self.batch_path else "pk__in"
        return queryset.filter(**{lookup: visible})


class AllCustomersOnlyMixin:
    """Settings that affect every customer: only those who see all customers may change them."""

    def has_add_permission(self, request, *args, **kwargs):
        return user_sees_all_customers(request.user) and super().has_add_permission(
            request, *args, **kwargs
        )

    def has_change_permission(self, request, obj=None):
        return user_sees_all_customers(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return user_sees_all_customers(request.user) and super().has_delete_permission(request, obj)


def visible_batches_for(request):
    """The batches the admin user may see, for exports to hide others' duplicates (None: all)."""
    from batches.selectors import batches_visible

    return None if user_sees_all_customers(request.user) else batches_visible(user=request.user)
