# faultline in a container: a multi-stage build, a small runtime image, a non-root user,
# the bundled networks inside.
#
#   docker build -t faultline .
#   docker run -p 8080:8080 -v faultline-data:/var/lib/faultline \
#     -e FAULTLINE_ADMIN_TOKEN=change-me-to-16-or-more-chars faultline
#
# The image serves the bundled BDGD network by default; mount your own file and set
# FAULTLINE_NETWORK (or pass --network) for yours. The event log (SQLite) lives in the
# volume /var/lib/faultline; pass --db postgres://… for a shared PostgreSQL log.

# ---- build ------------------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
# Dependencies first, so a source change does not rebuild them: a manifest-only build
# of an empty crate fills the cache layer.
COPY Cargo.toml Cargo.lock ./
COPY benches benches
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked --bin faultline || true
COPY src src
COPY migrations migrations
COPY wallboard wallboard
# The pages and migrations are embedded in the binary; touch so cargo rebuilds it.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin faultline

# ---- run --------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/faultline \
        --create-home --shell /usr/sbin/nologin faultline
COPY --from=build /src/target/release/faultline /usr/local/bin/faultline
COPY gis-data /usr/share/faultline/gis-data
USER faultline
WORKDIR /var/lib/faultline
ENV FAULTLINE_NETWORK=/usr/share/faultline/gis-data/bdgd_mux_energia.geojson \
    FAULTLINE_DB=/var/lib/faultline/faultline.db \
    FAULTLINE_BIND=0.0.0.0:8080 \
    FAULTLINE_LOG_FORMAT=json
VOLUME ["/var/lib/faultline"]
# 8080: the API and the pages; 9464: /metrics when --metrics-bind 0.0.0.0:9464 is given.
EXPOSE 8080 9464
# SIGTERM (docker stop) finishes in-flight requests and commits every accepted event.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/faultline"]
CMD ["serve"]
