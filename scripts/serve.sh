#!/usr/bin/env bash
# Builds the page (release wasm, example files) and serves www/ on http://127.0.0.1:${PORT:-8000}/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-web.sh
port=${PORT:-8000}
echo "Serving http://127.0.0.1:$port/"
exec python3 -m http.server --bind 127.0.0.1 --directory www "$port"
