// Package cachetest provides test helpers for code that reads AWS Secrets
// Manager: a real Secrets Manager emulator (moto) started per test binary,
// and a counting, fault-injecting HTTP proxy placed between the AWS SDK (or
// the extension binary) and moto.
//
// It exists as its own package for the same reason net/http/httptest does:
// the tests of many packages (cache, server, cmd end-to-end tests) need it,
// and it must not be linked into the product.
//
// A typical test binary starts one moto for all of its tests:
//
//	var moto *cachetest.Moto
//
//	func TestMain(m *testing.M) { os.Exit(cachetest.RunWithMoto(m, &moto)) }
//
//	func TestSomething(t *testing.T) {
//		if err := moto.Reset(t.Context()); err != nil {
//			t.Fatal(err)
//		}
//		p := cachetest.NewProxy(moto.URL())
//		defer p.Close()
//		setup := cachetest.Client(moto.URL()) // direct: not counted
//		sut := cachetest.Client(p.URL())      // through the proxy: counted
//		...
//	}
//
// Moto quirk: after UpdateSecretVersionStage moves AWSCURRENT, a
// GetSecretValue without VersionStage still returns the old version on moto.
// Code and tests that need the current version should send VersionStage
// explicitly.
package cachetest
