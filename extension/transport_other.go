//go:build !unix

package extension

// open reports whether the kept connection may be used; off Unix (where
// Lambda never runs) it is not checked, and a closed one fails its request.
func (c *apiConn) open() bool { return c.r.Buffered() == 0 }
