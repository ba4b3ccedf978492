// Package cachetest provides a test helper for code built on the cache: a
// wall clock moved by hand, for cache.Options.Now.
//
// It exists as its own package for the reason net/http/httptest does: the
// tests of several packages need it, and it must not be linked
// into the product. The fake of AWS itself (moto, the fault-injecting
// proxy) is upstream/upstreamtest.
package cachetest
