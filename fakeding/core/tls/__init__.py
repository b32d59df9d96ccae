"""What TLS mode names and asks of each SDK (hosts, environment), without any TLS."""
