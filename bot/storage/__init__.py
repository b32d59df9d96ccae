"""The robot's stores: the SQLite core, its async face for the loop, and Redis for replicas."""
