"""``fakeding record``: a relay between a robot and DingTalk that turns what passes into a
scenario (``scenario``) and a raw cassette, with ids, names and tokens replaced (``redact``)."""
