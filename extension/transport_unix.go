//go:build unix

package extension

import (
	"errors"
	"syscall"
)

// open reports whether the platform left the kept connection open: it has
// sent nothing on it since the last answer, neither an end of file nor
// bytes no request asked for. It peeks without blocking.
func (c *apiConn) open() bool {
	if c.r.Buffered() > 0 {
		return false
	}
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var peekErr error
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, peekErr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	})
	return err == nil && errors.Is(peekErr, syscall.EAGAIN)
}
