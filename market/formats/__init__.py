"""Date formats the admin shows, day first in every language: `2 Dec 2026, 14:56`, `2 дек 2026, 14:56`.

Django's own formats fill in the rest. SHORT_DATE_FORMAT is left as Django has it: the bot's
messages use it (My purchases), and they are not the admin's to change.
"""
