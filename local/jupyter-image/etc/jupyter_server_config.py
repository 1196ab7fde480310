"""
Stand-in for the Jupyter image's server configuration, /etc/jupyter/jupyter_server_config.py (jupyter/
docker-stacks images/base-notebook/jupyter_server_config.py at e8ac699, copied there by that image's
Dockerfile), for a rendered Jupyter pod run on this machine: local/jupyter.ts names this folder in
JUPYTER_CONFIG_PATH, as /etc/jupyter is on the image's configuration path.

Kept from the image: no browser is opened, and deleted files are removed rather than moved to a
trash folder. The image's GEN_CERT and NB_UMASK branches are left out (the pods set neither).

Different here, the seam:
- the image listens on every interface (`ip = ""`); here the server listens on 127.0.0.1 only;
- Jupyter Server refuses to start as root unless allow_root is set (jupyter_server serverapp.py,
  ServerApp.start_app, at v2.21.1 as python/requirements.lock installs it). The pod runs as the
  image's user (uid 1000), never as root; a machine that runs the tests as root (CI) would otherwise
  not start it at all, so root is allowed here, and only when the process is root. (Running it as an
  unprivileged user instead cannot work here: the test Python environment lies under root's home.)
"""
import os

c = get_config()  # noqa: F821  # pyright: ignore[reportUndefinedVariable] - given by the config loader
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.open_browser = False
c.FileContentsManager.delete_to_trash = False
if os.geteuid() == 0:
    c.ServerApp.allow_root = True
