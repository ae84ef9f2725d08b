"""How the large-depth limits are simulated (see issue 3)."""
