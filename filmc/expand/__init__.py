"""The expand stage: the resolved film -> prompts (contexts, Jinja2 templates, narration markup, music)."""
