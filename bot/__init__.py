"""DingTalk AI customer-service robot."""
