#!/usr/bin/env bash
# Loads an rpcbench HTML report in headless Chromium: fails on console errors, missing or empty
# charts and external resources; saves a screenshot.
#   scripts/check-report-chromium.sh HTML_FILE OUT_PNG [--expect-kinds k1,k2] [--scroll-to CSS_SELECTOR]
# Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian: chromium chromium-driver) and
# python3; installs nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec python3 "$here/check-report-chromium.py" "$@"
