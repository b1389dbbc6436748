"""The exercise library: built-in data, browsing, search, custom exercises, favourites."""
