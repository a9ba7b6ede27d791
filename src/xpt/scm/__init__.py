"""scm layer."""
