"""The web front end: a page for every party (issue 12), served by ``gpv run`` and ``gpv web``.

A FastAPI application with Jinja2 templates (``workflows/web/templates``) and plain CSS
(``workflows/web/static``), no script and no external resource. Every step a user takes goes through
:func:`workflows.service.fire`, the one place every step passes, which checks who may take it.
``docs/web.md`` describes the pages, the security measures and the operation behind a proxy.

Modules: ``config`` (settings from the environment), ``security`` (session user, CSRF, login
rate limit), ``labels`` and ``forms`` (German names and the form fields of a step), ``queries``
(the reads the pages need), ``pages_auth``, ``pages_tasks``, ``pages_cases``, ``pages_overview``
(the routes), ``app`` (the application factory) and ``server`` (uvicorn).
"""
