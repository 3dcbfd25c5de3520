"""Test helpers that start real outside programs (LibreOffice, mail servers)."""
