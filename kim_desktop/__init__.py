"""KIM Desktop: case management for the Kommunales Integrationsmanagement in North Rhine-Westphalia."""

__version__ = "0.1.0"
APP_NAME = "KIM Desktop"
APP_ID = "kim-desktop"
