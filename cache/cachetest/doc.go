// Package cachetest provides test helpers for code built on the cache: a
// wall clock moved by hand, for cache.Options.Now, and a buffer that a
// logger or a process writes while a test reads it.
//
// It exists as its own package for the reason net/http/httptest does: the
// tests of several packages need these helpers, and they must not be linked
// into the product. The fake of AWS itself (moto, the fault-injecting
// proxy) is upstream/upstreamtest.
package cachetest
