"""Campaigns: issue campaigns, their decision-makers (targets) and the power map."""
