# Nightshift: one static binary in a minimal, non-root image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/nightshift ./cmd/nightshift

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/nightshift /usr/local/bin/nightshift
COPY deploy/examples/nightshift.yaml /etc/nightshift/nightshift.yaml
USER nonroot:nonroot
EXPOSE 8080
ENV NIGHTSHIFT_LISTEN=0.0.0.0:8080
ENTRYPOINT ["/usr/local/bin/nightshift"]
CMD ["serve", "--config", "/etc/nightshift/nightshift.yaml"]
