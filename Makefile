# The README's two commands: `go run ./cmd/nightshift demo` runs the product,
# `make test` runs every check CI runs.
GO ?= go

.PHONY: test vet fmt deps-rule build bench fuzz

test: fmt vet deps-rule
	$(GO) test -race -count=1 ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/nightshift ./cmd/nightshift

vet:
	$(GO) vet ./...

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The dependency rule of docs/ARCHITECTURE: adapters depend on the core, the
# core on nothing in the project, and only cmd sees everything.
MOD := github.com/nightshift-ops/nightshift
deps-rule:
	@fail=0; \
	check() { pk=$$1; bad=$$2; hits=$$($(GO) list -deps $$pk 2>/dev/null | grep -E "^$(MOD)/($$bad)(/|$$)" || true); \
	  if [ -n "$$hits" ]; then echo "dependency rule: $$pk imports $$hits"; fail=1; fi; }; \
	check ./engine/... 'bot|integrations|store|server|cmd'; \
	check ./integrations/... 'bot|store|server|cmd'; \
	check ./store/... 'bot|integrations|server|cmd'; \
	check ./server/... 'bot|integrations|store|cmd'; \
	if [ -d bot ]; then check ./bot/... 'integrations|store|server|cmd'; fi; \
	exit $$fail

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

fuzz:
	@for p in $$($(GO) list ./... ); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$p 2>/dev/null | grep ^Fuzz); do \
	    echo "== $$p $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=20s $$p || exit 1; done; done
