"""Thin resolvers: validate input, call core and db, map results to schema types."""
