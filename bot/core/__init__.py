"""Pure logic of the robot (throttling, texts, cards): no I/O, no clocks, easy to test."""
