"""The ``imRobots.dingTalkStreamType`` backend: DingTalk Stream mode.

``config`` loads an instance; ``openapi`` talks to DingTalk's HTTP APIs without blocking the
loop; ``connection`` holds the websocket; ``conversation`` turns one message into cards;
``feedback`` handles button clicks; ``robot`` wires them; ``manager`` runs it on a thread.
"""
