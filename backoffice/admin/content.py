"""Texts staff write for the bot: help, terms, payment support."""

from django.contrib import admin

from shop.models import BotText


@admin.register(BotText)
class BotTextAdmin(admin.ModelAdmin):
    list_display = ["key", "language", "updated_at"]
    list_filter = ["key", "language"]
    search_fields = ["text"]
