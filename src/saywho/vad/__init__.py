"""Voice activity detection: Silero VAD (adapter) and speech regions (pure)."""
