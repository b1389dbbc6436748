"""Scored questionnaires, defined as data: the CSI-4 ships; a practice may import others."""
