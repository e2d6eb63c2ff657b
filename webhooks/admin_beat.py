"""The schedules of periodic tasks run the product for every customer: only staff who see
every customer may change them."""

from django.contrib import admin
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from batches.admin_scope import AllCustomersOnlyMixin


class ScopedPeriodicTaskAdmin(AllCustomersOnlyMixin, PeriodicTaskAdmin):
    pass


if admin.site.is_registered(PeriodicTask):
    admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, ScopedPeriodicTaskAdmin)
