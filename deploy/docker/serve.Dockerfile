# imagebot serve: the webhook bot, its page and its queue workers.
# Build from the repository root:
#   docker build -f deploy/docker/serve.Dockerfile -t imagebot:dev .
# It builds nothing itself when the fleet has build hosts
# (queue.build_workers: 0); see deploy/docker/buildhost.Dockerfile.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/imagebot ./cmd/imagebot

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 imagebot \
 && useradd --system --uid 10001 --gid imagebot --home-dir /var/lib/imagebot --create-home imagebot
COPY --from=build /out/imagebot /usr/local/bin/imagebot
# State (SQLite file, checkouts, local artifacts) lives in the volume; with
# PostgreSQL and S3 nothing in it needs a backup.
VOLUME /var/lib/imagebot
WORKDIR /var/lib/imagebot
ENV IMAGEBOT_DATA_DIR=/var/lib/imagebot
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["curl", "-fsS", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/imagebot"]
CMD ["serve", "--config", "/etc/imagebot/config.yaml", "--listen", "0.0.0.0:8080"]
