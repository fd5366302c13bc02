"""SavedModel export and serving clients (to come)."""
