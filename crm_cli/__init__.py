"""crm: a local-first command-line CRM."""

__version__ = "0.1.0"
