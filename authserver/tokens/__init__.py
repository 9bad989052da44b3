"""Tokens: signing keys and the JWKS, JWT access and ID tokens, refresh-token families."""
