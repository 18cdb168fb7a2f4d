"""HTTP views: parse, authenticate, call a service, map errors."""
