#!/usr/bin/env bash
# Run by snakemake inside the render env, once, right after creating it. Chromium is no conda
# package: the renderer (matfuse.render.browser) drives a Chromium on PATH where the node has one,
# else Playwright's own build, which this downloads (to ~/.cache/ms-playwright, or to
# $PLAYWRIGHT_BROWSERS_PATH). It needs the network: create the envs on a node that has it, e.g.
# the login node, with `snakemake --conda-create-envs-only`. Playwright's Chromium needs the
# system libraries `playwright install-deps chromium` lists (nss, atk, ...) on compute nodes.
set -euo pipefail
python -m playwright install chromium
