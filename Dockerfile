# revoca's image: built on Debian 12 from Debian's packages (as
# scripts/install-deps.sh installs them), run on debian:12-slim with only the
# shared libraries the two binaries link, as a non-root user.
# e2e/image/test_dockerfile.py checks the runtime packages against
# `ldd build/bin/revoca` and `ldd build/bin/revocactl`.

FROM debian:12 AS build
# The build half of scripts/install-deps.sh (no test tools: gtest, nginx,
# mosquitto, Erlang); libcpprest-dev brings the boost, zlib and brotli headers.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libssl-dev libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev \
      libboost-dev libcpprest-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DREVOCA_TESTS=OFF -DREVOCA_BENCH=OFF \
 && cmake --build /build --target revoca revocactl \
 && strip /build/bin/revoca /build/bin/revocactl

FROM debian:12-slim
# One package per library the binaries link (libc6 is in the base image):
#   libspdlog.so.1.10 libspdlog1.10 | libfmt.so.9 libfmt9 | libcpprest.so.2.10 libcpprest2.10
#   libssl.so.3 libcrypto.so.3 libssl3 | libyaml-cpp.so.0.7 libyaml-cpp0.7
#   libbrotlidec/enc/common.so.1 libbrotli1 | libz.so.1 zlib1g
#   libstdc++.so.6 libstdc++6 | libgcc_s.so.1 libgcc-s1
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libspdlog1.10 libfmt9 libcpprest2.10 libssl3 libyaml-cpp0.7 libbrotli1 zlib1g \
      libstdc++6 libgcc-s1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/bin/revoca /build/bin/revocactl /usr/local/bin/
# 65532: the conventional "nonroot" uid/gid of distroless images; no passwd
# entry is needed. revoca keeps its state in the cluster (Secrets), so the
# root filesystem can be read-only.
USER 65532:65532
# The OCSP/CRL responder, /healthz, /readyz and /metrics.
EXPOSE 4664
ENTRYPOINT ["/usr/local/bin/revoca"]
CMD ["run"]
