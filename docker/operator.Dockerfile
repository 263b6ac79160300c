# The VectaDB operator image: one static-ish binary on a small Debian base,
# running as an unprivileged user with nothing to write.
#   docker build -f docker/operator.Dockerfile -t vectadb/vectadb-operator:0.1.0 .

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p vectadb-operator --bin vectadb-operator \
    && cp target/release/vectadb-operator /vectadb-operator

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /vectadb-operator /usr/local/bin/vectadb-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["vectadb-operator"]
