#!/usr/bin/env bash
# up.sh: the first command. Installs the tools (deploy/install-tools.sh),
# builds imagebot into .tools/bin, writes a default configuration into
# .imagebot/config.yaml when there is none, and starts `imagebot serve` on its
# embedded defaults: state and queue in an SQLite file, builds on this host,
# artifacts in .imagebot/artifacts. It prints the webhook addresses and the
# page. No forge token is needed to start: until IMAGEBOT_GITLAB_TOKEN (or
# GitHub's) and the webhook secret are set, the bot serves and says in its log
# that it cannot reach a forge.
#
# Usage: deploy/up.sh [--no-apt] [--listen ADDR]   (Ctrl-C stops the bot)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
install_args=()
listen="${IMAGEBOT_LISTEN:-127.0.0.1:8080}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-apt) install_args+=(--no-apt) ;;
    --listen) listen="$2"; shift ;;
    *) echo "up.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
deploy/install-tools.sh "${install_args[@]}"
export PATH="$root/.tools/bin:$PATH"
go build -o .tools/bin/imagebot ./cmd/imagebot
mkdir -p .imagebot
if [[ ! -f .imagebot/config.yaml ]]; then
  cat > .imagebot/config.yaml <<YAML
# imagebot serve configuration (see README: configuration reference).
# Secrets are never written here: set IMAGEBOT_GITLAB_TOKEN and
# IMAGEBOT_GITLAB_WEBHOOK_SECRET (or *_FILE keys / variables) in the environment.
listen: $listen
# public_url: https://imagebot.example.com   # how GitLab/GitHub reach this bot
data_dir: .imagebot
database:
  driver: sqlite          # embedded; "postgres" + IMAGEBOT_DATABASE_URL for a fleet
store:
  local:
    dir: .imagebot/artifacts
queue:
  build_workers: 1        # builds at once on this host
  capabilities: [kvm]
trust:
  min_permission: write   # GitLab Developer / GitHub write
log:
  level: info
  format: console
YAML
  echo "up.sh: wrote .imagebot/config.yaml"
fi
url="http://$listen"
[[ "$listen" == 0.0.0.0:* || "$listen" == :* ]] && url="http://127.0.0.1:${listen##*:}"
cat <<MSG

imagebot is starting on $listen
  GitLab webhook:  $url/webhooks/gitlab   (Merge request, Comments and Push events; secret token = IMAGEBOT_GITLAB_WEBHOOK_SECRET)
  GitHub webhook:  $url/webhooks/github   (pull_request, issue_comment, push; content type application/json)
  Page:            $url/
  Health:          $url/healthz  $url/readyz   Metrics: $url/metrics
Set IMAGEBOT_GITLAB_TOKEN and IMAGEBOT_GITLAB_WEBHOOK_SECRET (or the GITHUB ones) and run this again to talk to a forge.

MSG
exec .tools/bin/imagebot serve --config .imagebot/config.yaml --listen "$listen"
