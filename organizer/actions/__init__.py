"""Actions: hearings, rallies, house meetings; commitments, RSVPs, check-in, turnout, public sign-up."""
