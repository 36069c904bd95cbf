"""Test support for the domain: factories for its models and a helper to run code on several threads."""
