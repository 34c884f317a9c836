"""GraphQL object types. Leaves: they import nothing from schema roots or resolvers."""
