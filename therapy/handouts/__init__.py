"""The couple's homework handout: plain data in, HTML preview and PDF out."""
