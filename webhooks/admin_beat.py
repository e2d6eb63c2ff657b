"""The schedules of periodic tasks run the product for every customer: only staff who see
every customer may change them. Task results name every customer's batches: only they see
them."""

from django.contrib import admin
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_celery_results.models import GroupResult, TaskResult

from batches.admin_scope import AllCustomersOnlyMixin
from customers.selectors import user_sees_all_customers


class ScopedPeriodicTaskAdmin(AllCustomersOnlyMixin, PeriodicTaskAdmin):
    pass


class AllCustomersOnlyViewMixin(AllCustomersOnlyMixin):
    """Not even seen by staff scoped to customers."""

    def has_view_permission(self, request, obj=None):
        return user_sees_all_customers(request.user) and super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return user_sees_all_customers(request.user) and super().has_module_permission(request)


def _rescope(model, mixin) -> None:
    """Register ``model`` again with its admin class behind ``mixin``."""
    base = type(admin.site._registry[model]) if admin.site.is_registered(model) else None
    if base is None:
        return
    admin.site.unregister(model)
    admin.site.register(model, type(f"Scoped{base.__name__}", (mixin, base), {}))


if admin.site.is_registered(PeriodicTask):
    admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, ScopedPeriodicTaskAdmin)
# Changing the sweep's interval, or deleting it (which deletes its task), stops sending for all.
for schedule in (IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
    _rescope(schedule, AllCustomersOnlyMixin)
for result in (TaskResult, GroupResult):
    _rescope(result, AllCustomersOnlyViewMixin)
