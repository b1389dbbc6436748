"""Progress between sessions: charts per practice and measure, the report PDF."""
