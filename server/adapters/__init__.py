"""I/O around the core: database, files, certificates, HTTP, the peer link."""
