"""The Bot API client alone (no handlers): configuration, the HTTP sender, reading errors, refunds."""
