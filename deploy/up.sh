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
chmod 700 .imagebot
# As root, builds run as an unprivileged user of their own (runner.build_user):
# a template or provisioner is code from whoever opened the merge request.
runner_section=""
if [[ $(id -u) == 0 ]]; then
  if ! id -u imagebot-build >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin imagebot-build
  fi
  mkdir -p /var/lib/imagebot-build/bin
  chmod 711 /var/lib/imagebot-build
  # The build user starts packer itself: a copy it can reach (the checkout may be under /root).
  install -m 0755 .tools/bin/packer /var/lib/imagebot-build/bin/packer
  runner_section="runner:
  # Builds run as this user, in directories outside data_dir (which it cannot
  # read). Images whose provisioner needs root on the host (debootstrap,
  # chroot: images/debian12-rootfs) cannot build this way: remove build_user
  # to run them, knowing every build then runs as root. See docs/security.md.
  build_user: imagebot-build
  build_uids: 2000000-2000015   # a uid of its own per running build (no host user may own one)
  packer: /var/lib/imagebot-build/bin/packer
  work_dir: /var/lib/imagebot-build/work
  cache_dir: /var/lib/imagebot-build/cache
  max_timeout: 6h         # longest env.yaml timeout accepted
  retention: 72h          # working directories and build outputs kept this long
  network: none           # builds reach only their own loopback (docs/security.md)
  network_images:         # images that download packages while they build
    debian12-rootfs: host # debootstrap on the host
    debian12: host        # the Debian installer
    debian12-ansible: host # apt in the guest (the playbook installs python3)
    rocky9: host          # dnf in the guest
    centos7-base: host    # yum in the guest
    centos7-appliance: host"
fi
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
$runner_section
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
