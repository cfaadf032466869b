"""Users, roles, login and who may see what."""
