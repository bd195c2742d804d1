"""Shared helpers for Berth's tests (Ansible runner, fixtures' support code)."""
