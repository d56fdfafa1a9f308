"""``saywho serve``: a REST API with a persistent job queue, and a web page.

Import :func:`saywho.server.app.create_app` to embed the app; the command line is in
:mod:`saywho.server.command`.
"""
