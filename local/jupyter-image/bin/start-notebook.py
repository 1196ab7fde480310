#!/usr/bin/env python
"""
Stand-in for the Jupyter image's start script, `start-notebook.py` on the image's PATH, for a
rendered Jupyter pod run on this machine (local/jupyter.ts puts this folder on PATH). What the image's
script does (jupyter/docker-stacks images/base-notebook/start-notebook.py at e8ac699, the build the
scipy-notebook:2025-10-06 tag comes from): it hands over to start-singleuser.py when
JUPYTERHUB_API_TOKEN is set; otherwise it runs `jupyter` with the subcommand DOCKER_STACKS_JUPYTER_CMD
(default "lab"), then the words of NOTEBOOK_ARGS (split as a shell would), then its own arguments,
and becomes that process. This does the same, in its own words; JupyterHub never starts these pods,
so that branch is refused rather than imitated. `jupyter` is the one first on PATH: the test Python
environment, with JupyterLab and jupyter-collaboration at the versions the image would run.
"""
import os
import shlex
import sys

if "JUPYTERHUB_API_TOKEN" in os.environ:
    sys.exit("start-notebook.py (local stand-in): JupyterHub's start-singleuser.py is not part of the stand-in")

argv = ["jupyter", os.environ.get("DOCKER_STACKS_JUPYTER_CMD", "lab")]
argv += shlex.split(os.environ.get("NOTEBOOK_ARGS", ""))
argv += sys.argv[1:]
print("Executing: " + " ".join(argv), flush=True)
os.execvp(argv[0], argv)
