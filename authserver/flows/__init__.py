"""Use cases: one module each, the only place that orders domain steps and commits.

A flow opens one unit of work (the request's database session), calls the domain modules
(:mod:`authserver.accounts`, :mod:`authserver.mfa`, :mod:`authserver.tokens`,
:mod:`authserver.sms`), which add to it and commit nothing, commits once, and returns a typed
outcome. A refusal that must leave a trace (a failed attempt's audit event) is committed before
it is raised; nothing else a refused request did is kept. Adapters (grants, blueprints, the
dashboard, the hosted pages, the CLI) parse a request, call a flow, and answer.
"""
