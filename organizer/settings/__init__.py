"""Organization-wide settings and the managed lists (neighborhoods, tags)."""
