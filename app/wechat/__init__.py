"""Adapters over the WeChat SDKs. Nothing here talks to the network at import or app start."""
