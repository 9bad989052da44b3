"""The admin dashboard at /dashboard: server-rendered pages over the same domain services as the
management API."""
