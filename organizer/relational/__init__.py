"""Relational organizing: one-to-one meetings, follow-ups, the leadership pipeline and the relational network."""
