"""Small, pure, whole-column comparisons: each takes columns of pairs and returns a column."""
