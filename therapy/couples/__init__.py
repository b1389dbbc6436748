"""Couples: the therapist's caseload, each couple's profile, and the one scoped loader."""
