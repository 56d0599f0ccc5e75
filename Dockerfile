# syntax=docker/dockerfile:1
#
# scriptstats container image: a static binary on distroless, non-root.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t scriptstats .
#
# The binary embeds the SQL (sql/embed.go) and the time zone database
# (time/tzdata), so the image needs nothing but CA certificates, which
# distroless/static has. deploy/container/dockerfile_test.go checks this file.

ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
# go.mod names the tooling module deploy/ (the tests' helpers) by a replace:
# its go.mod is part of the module graph.
COPY go.mod go.sum ./
COPY deploy/go.mod deploy/go.sum ./deploy/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/scriptstats ./cmd/scriptstats

# CA certificates, /etc/passwd with "nonroot" (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scriptstats /usr/local/bin/scriptstats
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/scriptstats"]
CMD ["--help"]
