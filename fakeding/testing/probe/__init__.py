"""``fakeding probe``: measure a platform from a robot's side and write a profile."""
