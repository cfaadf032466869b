"""Tests for the SMS area."""
