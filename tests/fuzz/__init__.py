"""Property-based fuzz tests (hypothesis): inbound text, buttons and Slack payloads."""
