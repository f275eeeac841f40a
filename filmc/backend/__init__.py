"""What a backend is: one small protocol per layer and the capabilities it declares."""
