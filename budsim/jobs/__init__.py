"""Optimization jobs: the queue's worker, its news (progress and ends) and the search process it runs them in."""
