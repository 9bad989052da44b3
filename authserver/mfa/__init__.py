"""Multi-factor authentication, without Flask: settings, factors, mfa_tokens, limits, policy.

Factors: authenticator apps (``otp``, RFC 6238) and recovery codes (``recovery-code``); SMS
(``sms``) plugs in through the same pieces. A login with MFA goes password grant → policy says
``mfa_required`` → an mfa_token ticket → challenge → an MFA grant that verifies the code under the
attempt limits and exchanges the ticket for tokens.
"""
