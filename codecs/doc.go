// Package codecs holds the audio codecs and signal tools a virtual desk
// phone needs for its media: G.711 µ-law and A-law, G.722 wideband, RFC 4733
// telephone-events, tone generation, Goertzel and DTMF detection, level
// metering, WAV files and 8 kHz ↔ 16 kHz resampling.
//
// It knows nothing of phones, SIP or RTP sessions. Codecs are values
// ([Codec]) looked up by the names found in SDP and in the Skype for
// Business codec policy ([Lookup], [ParseOrder]); stateful codecs get one
// encoder and one decoder per stream ([Codec.NewEncoder],
// [Codec.NewDecoder]).
//
// A phone process carries hundreds of calls, so every per-packet operation
// works on caller-provided buffers and allocates nothing: Encode, Decode,
// the Goertzel and DTMF detectors, the resampler and the telephone-event
// sender and receiver. Only convenience helpers that return whole signals
// (tone generation, WAV reading) allocate.
//
// Levels are in dBFS relative to a full-scale sine wave (AES17): a sine
// that peaks at ±32767 measures 0 dBFS RMS, so a tone generated at
// -10 dBFS also meters -10 dBFS.
package codecs
