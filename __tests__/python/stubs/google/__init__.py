"""
Stand-in for google-auth (the package `google.auth`), which the MLflow image installs and this
machine's Python does not: only what migrate.py's cloudsql backup gate calls, answering from
world.current. Signatures after googleapis/google-auth-library-python (the image has 2.63.1,
python/requirements.lock): google/auth/_default.py default(scopes=None, request=None,
quota_project_id=None, default_scopes=None); google/auth/impersonated_credentials.py
Credentials(source_credentials, target_principal, target_scopes, delegates=None, ..., lifetime=3600, ...);
google/auth/transport/requests.py AuthorizedSession(credentials, ...), a requests.Session.
"""
