"""One module per endpoint group: jobs, checks, watchlists, health."""
