"""The hosted pages of the browser sign-in: ``/authorize``, the sign-in, second-factor,
enrollment and consent pages, and ``/logout`` (:mod:`authserver.hosted.web` says what they
share; :mod:`authserver.hosted.setup` mounts them)."""
