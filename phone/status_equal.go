package phone

// Equal reports whether s and o hold the same values. It is written out
// field by field, so that Status may one day hold a list without every
// comparison breaking; TestStatusEqualComparesEveryField fails when a
// field is added here but not compared.
func (s *Status) Equal(o *Status) bool {
	return s.Registered == o.Registered &&
		s.RegistrationError == o.RegistrationError &&
		s.User == o.User &&
		s.Server == o.Server &&
		s.TLS == o.TLS &&
		s.CallDuration == o.CallDuration &&
		s.CallWaiting == o.CallWaiting &&
		s.Model == o.Model &&
		s.Vendor == o.Vendor &&
		s.Firmware == o.Firmware &&
		s.MAC == o.MAC &&
		s.Serial == o.Serial &&
		s.Session == o.Session &&
		s.Lock == o.Lock &&
		s.Call == o.Call &&
		s.Remote == o.Remote &&
		s.Digits == o.Digits &&
		s.Audio == o.Audio &&
		s.DND == o.DND &&
		s.Mute == o.Mute &&
		s.MWI == o.MWI &&
		s.Update == o.Update &&
		s.Screen == o.Screen &&
		s.Menu == o.Menu &&
		s.Time.Equal(o.Time) &&
		s.Codec == o.Codec &&
		s.SRTP == o.SRTP &&
		s.RTPSent == o.RTPSent &&
		s.RTPReceived == o.RTPReceived &&
		s.RTPLost == o.RTPLost &&
		s.SRTPAuthFail == o.SRTPAuthFail &&
		s.SRTPReplayed == o.SRTPReplayed &&
		s.JitterMS == o.JitterMS &&
		s.MOS == o.MOS &&
		s.ToneHz == o.ToneHz &&
		s.ToneHz2 == o.ToneHz2 &&
		s.Conference == o.Conference &&
		s.DTMFHeard == o.DTMFHeard &&
		s.RemoteName == o.RemoteName &&
		s.LockType == o.LockType &&
		s.PINSet == o.PINSet &&
		s.PINTriesLeft == o.PINTriesLeft &&
		s.Paired == o.Paired &&
		s.PolicyVersion == o.PolicyVersion &&
		s.DialTimeoutMS == o.DialTimeoutMS &&
		s.Codecs == o.Codecs &&
		s.Display == o.Display &&
		s.UpdateVersion == o.UpdateVersion &&
		s.UpdateProgress == o.UpdateProgress &&
		s.UpdateError == o.UpdateError &&
		s.FirmwareSlot == o.FirmwareSlot &&
		s.SignInMethod == o.SignInMethod &&
		s.SignInCode == o.SignInCode &&
		s.SignInURL == o.SignInURL &&
		s.SignInExpiresIn == o.SignInExpiresIn &&
		s.SignInError == o.SignInError &&
		s.StateDamaged == o.StateDamaged &&
		s.Calls == o.Calls &&
		s.HeldCalls == o.HeldCalls &&
		s.CallStates == o.CallStates &&
		s.MissedCalls == o.MissedCalls &&
		s.Forward == o.Forward &&
		s.Gateway == o.Gateway &&
		s.GatewayError == o.GatewayError &&
		s.PairingCode == o.PairingCode &&
		s.PairingURL == o.PairingURL &&
		s.PairingExpiresIn == o.PairingExpiresIn &&
		s.FirmwareMode == o.FirmwareMode
}
