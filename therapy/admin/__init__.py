"""Practice administration: therapist accounts, reassigning couples, the audit log."""
