"""Test support for the domain: factories for its models, paying through its services, and running code on several threads."""
