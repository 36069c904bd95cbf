"""Writes to the shop's data, one module per domain. Called by the bot and the back office; plain values in, models out."""
