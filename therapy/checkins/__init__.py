"""Check-ins between sessions: entered by the therapist or by a partner through a link."""
