"""Sessions and the plan builder."""
