"""The home page: what needs attention, and the federation in numbers."""
