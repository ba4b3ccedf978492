package access

import (
	"crypto/subtle"
	"strings"
)

// TokenHeader carries the caller's token, under the AWS extension's name so
// that clients written for it work unchanged.
const TokenHeader = "X-Aws-Parameters-Secrets-Token"

// Token compares presented tokens with the expected one in time that
// depends only on the presented token's length, which the caller chose:
// neither the expected token's bytes nor its length show. It reads the
// presented token in place, eight bytes at a time, against a copy of the
// expected token repeated to the longest header net/http accepts, made
// once: a warm read on Managed Instances, where many workers read at once,
// should not spend its time here (a Lambda session token is about 1 KiB).

type Token struct {
	want     string
	repeated string // want, repeated to at least maxTokenLength bytes
}

// maxTokenLength covers every header value the server reads: MaxHeaderBytes
// plus the slack net/http allows beyond it.
const maxTokenLength = 16<<10 + 4096

func NewToken(want string) *Token {
	c := &Token{want: want}
	if want != "" {
		c.repeated = strings.Repeat(want, (maxTokenLength+len(want)-1)/len(want))
	}
	return c
}

// Matches reports whether got is the expected token.
func (c *Token) Matches(got string) bool {
	if c.want == "" {
		return false // an empty expected token never matches
	}
	var diff uint64
	if len(got) <= len(c.repeated) {
		w := c.repeated
		i := 0
		for ; i+8 <= len(got); i += 8 {
			diff |= le64(got, i) ^ le64(w, i)
		}
		for ; i < len(got); i++ {
			diff |= uint64(got[i] ^ w[i])
		}
	} else {
		// Longer than any header the server accepts: only a direct caller
		// gets here, and the byte loop will do.
		for i := 0; i < len(got); i++ {
			diff |= uint64(got[i] ^ c.want[i%len(c.want)])
		}
	}
	sameLength := subtle.ConstantTimeEq(int32(min(len(got), 1<<30)), int32(len(c.want)))
	return subtle.ConstantTimeEq(int32(uint32(diff)|uint32(diff>>32)), 0)&sameLength == 1
}

// le64 reads eight bytes of s from i, little-endian; the compiler turns it
// into one load.
func le64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}
