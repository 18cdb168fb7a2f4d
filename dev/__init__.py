"""Development and test tooling (not part of the deployable chat server)."""
