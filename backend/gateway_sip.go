package backend

// The gateway's SIP side (helper D's, to be merged): check-sync and the
// location service as the gateway sees them.

// gatewayCheckSync tells the phone registered as user to fetch its
// provisioning (NOTIFY Event: check-sync).
func (b *Backend) gatewayCheckSync(user string) {}

// gatewayRegistered says whether user has a live registration.
func (b *Backend) gatewayRegistered(user string) bool { return len(b.contactsOf(user)) > 0 }
