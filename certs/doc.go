// Package certs is the phone's root-CA store, the lab PKI that the mock
// services and tests use, and the classification of TLS failures into the
// reasons a desk phone shows on screen and writes to syslog.
//
// Real phones trust only the roots that ship with their firmware plus the
// ones an administrator imports, and imports take effect after a reboot.
// [Store] models exactly that; it never consults the host's system roots.
// When the cloud's issuer changes (seed 002) a phone on old firmware
// fails with "unable to get local issuer certificate" until the new root
// is imported; [Classify] turns the Go TLS error into that story.
//
// The package knows nothing about phones or vendors: firmware decides which
// factory roots it ships ([FactoryRootIDs]) and how many imports it allows.
//
// The factory roots are made once per installation, on first use, in its
// lab directory (internal/labdir: ~/.config/deskphone/lab or
// $DESKPHONE_LAB), with their private keys 0600, as mkcert makes a local
// CA: the mock backend of that installation issues server certificates
// its emulated firmware trusts, and a cloud of any other installation is
// refused.
package certs
