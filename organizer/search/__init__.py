"""One search box: people, institutions, campaigns and actions by name."""
