"""Pure computation: catalogs, memory and performance models, search.

Nothing in this package performs I/O or knows about GraphQL or SQL; it imports numpy, xgboost and deap only.
"""
