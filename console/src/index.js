// The agent console: see console/README.md (being built).
