# deskphone: virtual enterprise SIP desk phones. `make help` lists the targets.

GO       ?= go
BIN      := bin/deskphone
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/deskphone
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/deskphone

# image: the OCI image from scratch (deploy/Containerfile) holding a static
# binary, built offline by deploy/build-image with podman or buildah, and its
# OCI archive for clusters with no registry (docs/deploy.md). Not part of
# make test (it is slow); .ci/run calls it after make interop.
IMAGE         ?= deskphone:latest
IMAGE_ARCHIVE ?= bin/deskphone-image.tar

.PHONY: image
image: ## build the OCI image deskphone:latest (IMAGE=name:tag; podman or buildah, offline) and its archive bin/deskphone-image.tar
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/image/deskphone ./cmd/deskphone
	BINARY=bin/image/deskphone IMAGE=$(IMAGE) ARCHIVE=$(IMAGE_ARCHIVE) ./deploy/build-image

.PHONY: run
run: build ## run one virtual phone in the terminal (MODEL=vvx601 FIRMWARE=5.4.0A to choose)
	./$(BIN) run $(if $(MODEL),--model $(MODEL)) $(if $(FIRMWARE),--firmware $(FIRMWARE)) $(if $(STATE),--state $(STATE)) $(if $(SIGNIN),--signin $(SIGNIN))

.PHONY: test
test: ## run every test with the race detector
	$(GO) test -race -count=1 ./...

.PHONY: lint
lint: ## gofmt, go vet and staticcheck (pinned in go.mod's tool directive), the interop tests too
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags interop ./interop/
	$(GO) tool staticcheck ./...
	$(GO) tool staticcheck -tags interop ./interop/

.PHONY: cover
cover: ## test coverage per function (coverage.out)
	$(GO) test -count=1 -coverprofile=coverage.out ./...
	$(GO) tool cover -func=coverage.out | tail -n 1

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 20s)
	$(GO) test ./certs -run '^$$' -fuzz FuzzImport -fuzztime $(or $(FUZZTIME),20s)
	$(GO) test ./media/sdp -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(or $(FUZZTIME),20s)
	$(GO) test ./phone/sipua -run '^$$' -fuzz FuzzPeerBodies -fuzztime $(or $(FUZZTIME),20s)
	$(GO) test ./phone/sipua -run '^$$' -fuzz FuzzReferTo -fuzztime $(or $(FUZZTIME),20s)
	$(GO) test ./backend -run '^$$' -fuzz FuzzParseUsers -fuzztime $(or $(FUZZTIME),20s)
	$(GO) test ./scenarios -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(or $(FUZZTIME),20s)
	$(GO) test ./media/sdp -run '^$$' -fuzz '^FuzzParseCrypto$$' -fuzztime $(or $(FUZZTIME),20s)
	$(GO) test ./media -run '^$$' -fuzz '^FuzzReceive$$' -fuzztime $(or $(FUZZTIME),20s)
	$(GO) test ./codecs -run '^$$' -fuzz FuzzG722Decode -fuzztime $(or $(FUZZTIME),20s)
	$(GO) test ./codecs -run '^$$' -fuzz FuzzWAVRead -fuzztime $(or $(FUZZTIME),20s)
	$(GO) test ./codecs -run '^$$' -fuzz FuzzTelephoneEvent -fuzztime $(or $(FUZZTIME),20s)
	$(GO) test ./internal/capture -run '^$$' -fuzz '^FuzzSIP$$' -fuzztime $(or $(FUZZTIME),20s)

# bench's second part is the registration-rate table (TestRegistrationRates in
# interop/rates_test.go): deskphones against the mock cloud and Kamailio, SIPp
# against Kamailio, over TLS. It runs only with DESKPHONE_BENCH=1, so make
# interop skips it.
# bench's fleet table (TestFleetScale in cmd/deskphone/fleet_scale_test.go):
# FLEET_PHONES phones (default 10000) in one process against the mock cloud
# in another, over TLS. Each throw-away phone holds one file descriptor, its
# connection, and the cloud one per phone: the shell's ulimit -n must allow
# FLEET_PHONES and some. Then the gateway table (TestGatewayScale in
# cmd/deskphone/gateway_scale_test.go): GATEWAY_PHONES phones (default 1000)
# onboarded on the SIP Gateway and signed in in bulk, 100 a batch. Then the
# call-load table (TestFleetCallLoad in cmd/deskphone/load_scale_test.go):
# LOAD_PHONES phones (default 10000) placing phone-to-phone SRTP calls at 25
# calls/s, 40 s each, for 3 minutes: 1,000 calls up at once.
# bench's first part is every micro-benchmark; the media load ones, which
# take seconds each, have their own line: BenchmarkLoad (media/load_test.go)
# runs the engine beside a bare SRTP loop at 100 to 2,000 calls, once each
# (-benchtime=1x), and prints CPU, the engine/bare CPU ratio, jitter p99,
# loss and packets/s per stream; LOAD_ROUNDS=3 alternates the two three
# times. BenchmarkEngineLoad, the engine alone, is left to be run by hand
# (-bench EngineLoad -benchtime=1x).
.PHONY: bench
bench: ## run the benchmarks, the media load against a bare SRTP loop, the fleet table (FLEET_PHONES=10000), then registrations/s against Kamailio and SIPp when installed
	$(GO) test -run '^$$' -bench . -skip '^Benchmark(Engine)?Load$$' -benchmem ./...
	ulimit -n $$(ulimit -Hn) 2>/dev/null; $(GO) test -timeout 30m -run '^$$' -bench '^BenchmarkLoad$$' -benchtime=1x -count=$(or $(LOAD_ROUNDS),1) ./media/
	ulimit -n $$(ulimit -Hn) 2>/dev/null; DESKPHONE_FLEET_BENCH=$(or $(FLEET_PHONES),10000) $(GO) test -count=1 -timeout 30m -run '^TestFleetScale$$' -v ./cmd/deskphone/
	ulimit -n $$(ulimit -Hn) 2>/dev/null; DESKPHONE_GATEWAY_BENCH=$(or $(GATEWAY_PHONES),1000) $(GO) test -count=1 -timeout 10m -run '^TestGatewayScale$$' -v ./cmd/deskphone/
	ulimit -n $$(ulimit -Hn) 2>/dev/null; DESKPHONE_LOAD_BENCH=$(or $(LOAD_PHONES),10000) $(GO) test -count=1 -timeout 20m -run '^TestFleetCallLoad$$' -v ./cmd/deskphone/
	@if command -v sipp >/dev/null && { command -v kamailio >/dev/null || test -x /usr/sbin/kamailio; } && \
	    { command -v stunnel4 >/dev/null || command -v stunnel >/dev/null; }; then \
		echo "DESKPHONE_BENCH=1 $(GO) test -tags interop -count=1 -run '^TestRegistrationRates$$' -v ./interop/"; \
		DESKPHONE_BENCH=1 $(GO) test -tags interop -count=1 -run '^TestRegistrationRates$$' -v ./interop/; \
	else \
		echo "bench: kamailio, sip-tester (sipp) or stunnel4 not installed: no registration-rate table"; \
	fi

.PHONY: interop
interop: ## interoperability tests against Kamailio, SIPp and baresip, the sign-in page in headless Chromium, web sign-in against oidc-provider and a --pcap capture in tshark (needs kamailio, kamailio-tls-modules, sip-tester, stunnel4, baresip-core, chromium, prometheus, tshark; nodejs and npm ci --prefix interop/testdata/oidc)
	$(GO) test -tags interop -count=1 -v ./interop/

.PHONY: clean
clean: ## remove build output
	rm -rf bin coverage.out
