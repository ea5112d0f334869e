# Multi-stage build: compile with the Swift toolchain image, run on slim Debian with the three
# C libraries Strata links (snappy, sqlite3, zlib). Not buildable on the development machines
# (no Docker engine there); keep it in step with scripts/bootstrap.sh by reading.
FROM swift:6.1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsnappy-dev libsqlite3-dev zlib1g-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
RUN swift build -c release --product strata --static-swift-stdlib \
 && cp "$(swift build -c release --show-bin-path)/strata" /strata

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsnappy1v5 libsqlite3-0 zlib1g libstdc++6 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/strata --create-home strata
COPY --from=build /strata /usr/local/bin/strata
USER strata
WORKDIR /var/lib/strata
EXPOSE 10902
VOLUME ["/var/lib/strata"]
ENTRYPOINT ["/usr/local/bin/strata"]
CMD ["serve", "--http-address", "0.0.0.0:10902", "--tsdb.path", "/var/lib/strata/data"]
