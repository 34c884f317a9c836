"""The REGRESSOR method's corrections as a service sees them: trained from data/ and the stored runs, written to
MODEL_PATH, and loaded by one function (`loading`) for the server, the worker and the CLI alike."""
