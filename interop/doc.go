// Package interop holds deskphone's interoperability tests against real SIP
// peers running on loopback: Kamailio as a TLS registrar and proxy, SIPp as
// caller, callee and registering client, stunnel to give SIPp (built
// without TLS) a way onto TLS listeners, and baresip as an SRTP softphone
// that deskphones call, through Kamailio and through the backend, with a
// tone each way. The call features run against them too (features_test.go):
// call waiting while a deskphone talks to baresip (answering holds
// baresip's call), an attended transfer whose transferee is SIPp (REFER
// with Replaces, then SIPp's INVITE with Replaces to the target), a REFER
// from SIPp (the phone calls the target and reports in NOTIFY sipfrag), and
// a conference on a deskphone whose other leg hears baresip's tone, and a
// deskphone's 302 (forward always) that Kamailio follows to the target. And
// headless Chromium walking the mock cloud's web
// sign-in page (TestWebSignInBrowser, screenshots of every page into
// $DESKPHONE_SCREENSHOTS or the test's temporary folder). And a --pcap
// capture of a two-phone SRTP call opened with tshark (TestPcapInWireshark:
// the SIP dialog, two plain PCMU streams, no key, the tones in the exported
// audio).
//
// The tests carry the build tag "interop" and run with
//
//	make interop    # go test -tags interop -count=1 -v ./interop/
//
// They need seven Debian packages:
//
//	apt-get install -y --no-install-recommends kamailio kamailio-tls-modules sip-tester stunnel4 baresip-core chromium tshark
//
// A test skips, naming the package, when one is missing. A CI job that
// installed them sets DESKPHONE_INTEROP_REQUIRE=1 to make that a failure.
//
// TestRegistrationRates is a measurement, not a check: it prints
// registrations per second over TLS for a fleet of deskphones against the
// mock cloud and against Kamailio, and for SIPp against the same Kamailio.
// It runs only with DESKPHONE_BENCH=1, which `make bench` sets; `make
// interop` skips it.
//
// The daemons run in the background on free loopback ports and are stopped
// by process group id when their test ends. Everything they need (the lab
// PKI, the rendered configurations, the db_text tables, logs and SIP traces)
// lives in the test's temporary directory; a failed test prints the logs.
// The configuration templates and the SIPp scenarios are in testdata/.
//
// This file has no build tag so that the package exists for tooling.
package interop
