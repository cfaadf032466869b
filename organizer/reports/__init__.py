"""Reports: equity measures split by race/ethnicity, neighborhood, institution and language,
with small cells suppressed, and results-based accountability scorecards per campaign."""
