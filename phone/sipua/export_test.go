package sipua

// ForgetCall drops a call without a word on the wire, as a UA that lost
// its state would: a test's way to make a dialog a stranger.
func (u *UA) ForgetCall(id string) { u.dropCall(id) }
