// Package upstreamtest fakes AWS for tests of code that reads Secrets
// Manager and Parameter Store: a real emulator (moto) started per test
// binary, and a counting, fault-injecting HTTP proxy placed between the AWS
// SDK (or the extension binary) and moto.
//
// It sits beside package upstream, as net/http/httptest sits beside
// net/http: the tests of many packages (upstream, server, the end-to-end
// suite, the bench) need it, and it must not be linked into the product.
//
// A typical test binary starts one moto for all of its tests:
//
//	var moto *upstreamtest.Moto
//
//	func TestMain(m *testing.M) { os.Exit(upstreamtest.RunWithMoto(m, &moto)) }
//
//	func TestSomething(t *testing.T) {
//		if err := moto.Reset(t.Context()); err != nil {
//			t.Fatal(err)
//		}
//		p := upstreamtest.NewProxy(moto.URL())
//		defer p.Close()
//		setup := upstreamtest.Client(moto.URL()) // direct: not counted
//		sut := upstreamtest.Client(p.URL())      // through the proxy: counted
//		...
//	}
//
// Moto quirk: after UpdateSecretVersionStage moves AWSCURRENT, a
// GetSecretValue without VersionStage still returns the old version on moto.
// Code and tests that need the current version should send VersionStage
// explicitly.
package upstreamtest
