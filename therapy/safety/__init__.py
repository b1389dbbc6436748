"""Clinical safety: the couple's safety screen, what it means for exercises, the partner's
private safety question, and the practice's crisis line on everything a couple sees."""
