"""The render stage: Plan -> assets, through the executor, the content-addressed cache and the journal."""
