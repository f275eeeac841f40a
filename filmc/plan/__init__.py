"""The plan stage: prompts + profile -> the Plan, every job with its content key, cost and cache status."""
