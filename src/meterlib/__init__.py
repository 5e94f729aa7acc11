"""meterlib: exact, explainable usage-based billing arithmetic."""
