"""Socket.IO namespaces: parse, authenticate, call a service. Nothing else."""
