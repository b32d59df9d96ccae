"""TLS mode: the fake reached as ``https://api.dingtalk.com`` by SDKs that cannot be pointed elsewhere.

``ca`` makes a local CA and the server certificate (needs the ``fakeding[tls]`` extra,
``cryptography``); ``proxy`` is a loopback CONNECT proxy that reaches only the fake; ``env`` says
what each language's SDK must set. Importing this package imports none of them.
"""
