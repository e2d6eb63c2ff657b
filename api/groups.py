"""The operator groups and their permissions, kept in step on every migrate."""

# Seeing every customer; the "Customer ..." groups have the same rights without it, so their
# members see only the customers they belong to.
VIEW_ALL_CUSTOMERS = "customers.view_all_customers"
_SCOPED_GROUPS = {"Customer viewers": "Viewers", "Customer operators": "Operators"}

GROUP_PERMISSIONS = {
    "Viewers": (
        "batches.view_batchjob",
        "batches.view_batchfile",
        "batches.export_batch",
        "batches.view_mappingprofile",
        "leads.view_leadvalidation",
        "webhooks.view_delivery",
        "webhooks.view_deliveryattempt",
        "customers.view_customer",
        "customers.view_endpoint",
        "screening.view_tpslist",
        "screening.view_suppression",
        VIEW_ALL_CUSTOMERS,
    ),
    "Operators": (
        "batches.view_batchjob",
        "batches.view_batchfile",
        "batches.export_batch",
        "batches.upload_batch",
        "batches.reprocess_batch",
        "batches.view_mappingprofile",
        "batches.add_mappingprofile",
        "batches.change_mappingprofile",
        "batches.delete_mappingprofile",
        "leads.view_leadvalidation",
        "webhooks.view_delivery",
        "webhooks.view_deliveryattempt",
        "webhooks.resend_delivery",
        "api.add_apitoken",
        "api.view_apitoken",
        "api.change_apitoken",
        "customers.view_customer",
        "customers.view_endpoint",
        "customers.change_endpoint",
        "screening.view_tpslist",
        "screening.view_suppression",
        "screening.add_suppression",
        "screening.delete_suppression",
        VIEW_ALL_CUSTOMERS,
    ),
}
GROUP_PERMISSIONS.update(
    {
        scoped: tuple(p for p in GROUP_PERMISSIONS[full] if p != VIEW_ALL_CUSTOMERS)
        for scoped, full in _SCOPED_GROUPS.items()
    }
)
# Administrators get every permission of the product's own apps.
ADMINISTRATOR_APPS = (
    "batches",
    "leads",
    "webhooks",
    "customers",
    "api",
    "screening",
    "alerts",
    "django_celery_beat",
)


def groups_ensure(**kwargs) -> None:
    """Create the groups and add their permissions (post_migrate); never remove any.

    Runs on every migrate so permissions added by later migrations reach the groups,
    while what an administrator added by hand stays.
    """
    from django.contrib.auth.models import Group, Permission

    for name, perms in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.extend(
                Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.add(*wanted)
    admins, _ = Group.objects.get_or_create(name="Administrators")
    admins.permissions.add(
        *Permission.objects.filter(content_type__app_label__in=ADMINISTRATOR_APPS)
    )
