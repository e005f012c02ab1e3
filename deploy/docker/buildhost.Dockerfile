# imagebot build host: `imagebot runner` with QEMU, qemu-img, Ansible and
# the Packer and plugins CI tests with: deploy/install-tools.sh --packer-only
# builds the pinned Packer (v1.14.3) and plugins (qemu v1.0.9, vsphere v1.4.2,
# ansible v1.1.2, amazon v1.3.4) from the Go module proxy and installs the
# plugins offline into one directory, PACKER_PLUGIN_PATH here, so `packer
# init` never downloads at build time. It takes build jobs from the fleet's
# PostgreSQL queue. Run it with /dev/kvm passed through where KVM works
# (--device /dev/kvm); without it builds fall back to TCG.
# Build from the repository root:
#   docker build -f deploy/docker/buildhost.Dockerfile -t imagebot-buildhost:dev .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/imagebot ./cmd/imagebot
# The versions live in one place, deploy/install-tools.sh; the module proxy
# refuses `go install pkg@version`, so it builds through throwaway modules.
RUN deploy/install-tools.sh --no-apt --packer-only \
 && cp .tools/bin/packer /out/packer \
 && cp -r .tools/packer-plugins /out/packer-plugins

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      qemu-system-x86 qemu-utils openssh-client xorriso e2fsprogs fdisk ansible \
      ca-certificates git curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 imagebot \
 && useradd --system --uid 10001 --gid imagebot --groups kvm --home-dir /var/lib/imagebot --create-home imagebot
COPY --from=build /out/imagebot /out/packer /usr/local/bin/
COPY --from=build /out/packer-plugins /usr/local/share/packer-plugins
VOLUME /var/lib/imagebot
WORKDIR /var/lib/imagebot
ENV IMAGEBOT_DATA_DIR=/var/lib/imagebot \
    PACKER_PLUGIN_PATH=/usr/local/share/packer-plugins \
    CHECKPOINT_DISABLE=1
USER 10001:10001
EXPOSE 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["curl", "-fsS", "http://127.0.0.1:9090/healthz"]
ENTRYPOINT ["/usr/local/bin/imagebot"]
CMD ["runner", "--config", "/etc/imagebot/config.yaml", "--listen", "0.0.0.0:9090"]
