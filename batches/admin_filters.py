"""The batch filter of the admin lists whose rows belong to a batch (leads, deliveries)."""

from django.contrib import admin

from batches.selectors import batches_visible


class BatchFilter(admin.SimpleListFilter):
    """The most recent batches the user may see, and any of theirs linked to with
    ?batch=<batch_id>.

    For a model with a `batch` foreign key. A list that other pages link to under another
    name subclasses it with that `parameter_name`.
    """

    title = "batch"
    parameter_name = "batch"
    recent = 15

    def lookups(self, request, model_admin):
        visible = batches_visible(user=request.user).values_list("batch_id", flat=True)
        recent = list(visible[: self.recent])
        if (
            self.value()
            and self.value() not in recent
            and visible.filter(batch_id=self.value()).exists()
        ):
            recent.insert(0, self.value())
        return [(batch_id, batch_id) for batch_id in recent]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(batch__batch_id=self.value())
        return queryset
