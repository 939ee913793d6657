// Package backend is the mock cloud that deskphone's emulated phones sign
// in to: a SIP registrar and proxy over TLS 1.2+ (and TCP or UDP for lab
// use) built on sipgo, with digest authentication, a location service,
// calls between registered phones, service users and message waiting.
// It runs standalone (deskphone backend) or inside deskphone run.
//
// # What it does
//
//   - Users come from a YAML users file (ParseUsers) or DefaultUsers
//     (alice/1001, bob/1002, carol/1003, dave/1004, password "secret").
//     Users are reached by name or extension: sip:bob@deskphone.test and
//     sip:1002@deskphone.test are the same phone.
//   - REGISTER is challenged with digest (RFC 8760 SHA-256 first, then
//     RFC 2617 MD5, qop=auth). Nonces live NonceLifetime on Config.Clock;
//     a right answer to an older one gets stale=true. Unknown users get
//     404 before any challenge; credentials for another user, and the
//     MaxAuthFailures-th wrong password from one source, get 403 (the
//     source is locked out, not the user); other wrong passwords get a
//     fresh 401. Past MaxAccountAuthFailures for a user from anywhere,
//     sources the user has not registered from get 403 too.
//   - Registrations default to DefaultExpires, refuse less than MinExpires
//     (423 with Min-Expires) and expire on Config.Clock, so a fake clock
//     expires them. An AOR may have several contacts; calls fork to all.
//   - Service users answered by the backend: echo, busy (486), noanswer
//     (180 until CANCEL, then 487) and voicemail (hanging up leaves a
//     message for the caller); see Services for their extensions.
//   - MWI (RFC 3842): a phone SUBSCRIBEs to message-summary for its own
//     AOR and gets NOTIFYs with Messages-Waiting and Voice-Message;
//     LeaveVoicemail and POST /admin/voicemail add a message.
//   - TLS: a server chain under a factory root (certs.FactoryCA), kept in
//     StateDir/pki; RotateCertificate switches new handshakes to another
//     root (seed 002). TLS 1.0/1.1 clients (Lync Phone Edition) fail.
//   - An admin HTTP API on loopback (see the admin endpoints in admin.go).
//
// # Design
//
// Proxy, not B2BUA. Calls between phones go through a stateful
// record-routing proxy (RFC 3261 §16): the backend forwards requests and
// relays responses, so re-INVITEs (hold, resume, codec changes), REFER,
// NOTIFY and INFO pass end to end without the backend having to bridge
// each of them, and SDP is never rewritten. Forking sends the INVITE to
// every contact; the first 2xx wins and the other branches are
// cancelled; a 2xx that loses the race is ACKed and hung up by the backend
// so that phone does not stay off-hook. Record-Route is doubled when the
// two sides use different transports (RFC 5658).
//
// Connection reuse. Phones behind TLS or TCP do not listen: a request for
// them must go over the connection they registered on. sipgo keeps every
// accepted connection in its transport's pool keyed by the remote
// address, and a request whose destination is that address reuses it
// (TransportLayer.ClientRequestConnection with connection reuse on), so
// the backend sends to a phone by setting the request's transport and
// destination to the flow the REGISTER came from (Registration.Source).
// For in-dialog requests the backend tags every Contact it forwards with
// an alias URI parameter naming the flow ("<ip>~<port>~<transport>", as
// Kamailio's set_contact_alias does); a request whose Request-URI carries
// it goes back over that flow with the parameter removed. A phone whose
// connection is gone is not dialled back (it would not answer): its
// branch fails with 430 Flow Failed.
//
// Caller authentication. A request that arrives over a flow a user
// registered (and so authenticated) on is trusted to come from that user,
// as an edge proxy trusts an authenticated connection; any other initial
// INVITE, MESSAGE, REFER, INFO or SUBSCRIBE is challenged with 407
// Proxy-Authenticate and accepted with valid credentials of any user.
// In-dialog requests, ACK and CANCEL are not challenged, but the proxy
// relays an in-dialog request only within a dialog it established (an
// INVITE or REFER it proxied and saw answered) and only from one of its
// two parties to the other, and takes requests in its own service calls
// and MWI subscriptions only from their party; anything else claiming a
// dialog, and any
// initial request with a Route beyond us, gets 403 (481 for a registered
// phone's stale dialog). NOTIFYs outside a subscription are refused:
// only the cloud sends unsolicited MWI. The cloud relays for nobody else.
//
// Floods. sipgo serves a TCP or TLS listener until its first Accept
// error, so each one is wrapped (listener.go): Accept retries after
// errors such as EMFILE with net/http's back-off (5 ms doubling to 1 s),
// refuses connections beyond Config.MaxConnections and
// MaxConnectionsPerSource at once, TLS handshakes run on the reader
// goroutine under HandshakeTimeout, and a connection that carries no
// request for UnregisteredIdleTimeout is closed until a REGISTER succeeds
// on it. These are socket deadlines on the wall clock. Health (GET
// /admin/health) reports each listener's state and counters.
//
// Everything the backend starts is owned by it: Close stops listeners,
// timers, calls and subscriptions and waits for every goroutine.
// Malformed messages are rejected by sipgo's parser or answered 400; a
// panic in a handler is logged and answered 500, never fatal.
package backend
