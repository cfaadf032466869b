"""SMS: message encoding, keywords, quiet hours and the provider seam.

Only this package may import ``twilio``.
"""
