"""The couple's week between sessions: the partner's page, what comes back, sending links."""
