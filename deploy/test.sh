#!/usr/bin/env bash
# test.sh: installs what the tests need (idempotent) and runs every test,
# the slow real ones included (Packer + QEMU builds, MinIO, Chromium, vcsim),
# on the default Packer (.tools/bin/packer, the newest the proxy serves), then
# the catalog and validate tests again on Packer 1.9.4 (IMAGEBOT_PACKER), the
# oldest imagebot supports. Packer finds its plugins in .tools/packer-plugins.
# Extra arguments go to `go test` (e.g. deploy/test.sh -run TestCatalog ./runner/...).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
deploy/install-tools.sh --with-browser --with-postgres
export PATH="$root/.tools/bin:$PATH"
export IMAGEBOT_REQUIRE_TOOLS=1
export PACKER_PLUGIN_PATH="$root/.tools/packer-plugins" CHECKPOINT_DISABLE=1
gofmt_out=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*'))
if [[ -n "$gofmt_out" ]]; then echo "gofmt needed: $gofmt_out" >&2; exit 1; fi
go vet ./...
if [[ $# -gt 0 ]]; then
  go test -count=1 -timeout 40m "$@"
else
  go test -count=1 -timeout 40m ./...
  echo "test.sh: catalog and validate tests on Packer 1.9.4" >&2
  IMAGEBOT_PACKER="$root/.tools/bin/packer-1.9.4" go test -count=1 -timeout 10m ./runner/catalog/... ./runner/validate/...
  # The deploy recipes' tests are a module of their own (deploy/go.mod) so
  # Helm, Kubernetes and compose-go stay out of imagebot's go.mod.
  (cd deploy && go vet ./... && go test -count=1 -timeout 10m ./...)
fi
