"""Loopback fakes that speak each cloud service's wire protocol, so tests drive the real SDKs offline."""
