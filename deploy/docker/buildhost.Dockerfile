# imagebot build host: `imagebot runner` with QEMU, qemu-img and a pinned
# Packer (v1.9.4 bundles the qemu, vsphere and ansible builders, so no
# plugin download happens at build time). It takes build jobs from the
# fleet's PostgreSQL queue. Run it with /dev/kvm passed through where KVM
# works (--device /dev/kvm); without it builds fall back to TCG.
# Build from the repository root:
#   docker build -f deploy/docker/buildhost.Dockerfile -t imagebot-buildhost:dev .
FROM golang:1.26-bookworm AS build
ARG PACKER_VERSION=v1.9.4
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/imagebot ./cmd/imagebot
# The module proxy refuses `go install pkg@version` listings: a throwaway
# module requires the pinned version (as deploy/install-tools.sh does).
RUN mkdir /packer && cd /packer \
 && go mod init imagebot.local/build-packer \
 && go get github.com/hashicorp/packer@${PACKER_VERSION} \
 && CGO_ENABLED=0 go build -trimpath -o /out/packer github.com/hashicorp/packer

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      qemu-system-x86 qemu-utils openssh-client xorriso e2fsprogs fdisk \
      ca-certificates git curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 imagebot \
 && useradd --system --uid 10001 --gid imagebot --groups kvm --home-dir /var/lib/imagebot --create-home imagebot
COPY --from=build /out/imagebot /out/packer /usr/local/bin/
VOLUME /var/lib/imagebot
WORKDIR /var/lib/imagebot
ENV IMAGEBOT_DATA_DIR=/var/lib/imagebot
USER 10001:10001
EXPOSE 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["curl", "-fsS", "http://127.0.0.1:9090/healthz"]
ENTRYPOINT ["/usr/local/bin/imagebot"]
CMD ["runner", "--config", "/etc/imagebot/config.yaml", "--listen", "0.0.0.0:9090"]
