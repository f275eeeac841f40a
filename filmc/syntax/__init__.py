"""The syntax stage: .film text -> IR nodes with source spans (grammar, lowering, the formatter)."""
