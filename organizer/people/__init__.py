"""Residents (people), and the access rule for who may see which of them."""
