"""HTTP routes. Each module registers its routes on the application the app factory builds."""
