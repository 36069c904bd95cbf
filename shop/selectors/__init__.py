"""Reads of the shop's data, one module per domain, for the bot and the back office. Plain values in, querysets out."""
