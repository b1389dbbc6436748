"""A couple's records: the export on request, deleting for good, checking a backup."""
