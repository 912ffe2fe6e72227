from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from tenants.admin import TenantScopedAdmin

from .entries import clean_entries
from .models import WatchList


class WatchListForm(forms.ModelForm):
    class Meta:
        model = WatchList
        fields = ["tenant", "name", "entries"]

    def clean_entries(self):
        try:
            return clean_entries(self.cleaned_data["entries"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc


@admin.register(WatchList)
class WatchListAdmin(TenantScopedAdmin):
    """A tenant's watch lists, checked as the API checks them."""

    form = WatchListForm
    list_display = ["name", "tenant", "updated_at"]
    list_filter = ["tenant"]
    search_fields = ["name"]
