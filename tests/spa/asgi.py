"""The project's ASGI application plus static files straight from the finders, for the browser tests' daphne.

In production WhiteNoise serves the collected files; tests must not depend on a `collectstatic` having run.
"""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from vms.asgi import application as project_application

application = ASGIStaticFilesHandler(project_application)
