package access

import (
	"strings"
	"testing"
)

// TestTokenMatches: the exact token matches, and nothing else, whatever
// the lengths.
func TestTokenMatches(t *testing.T) {
	for _, tt := range []struct {
		got, want string
		ok        bool
	}{
		{"abc", "abc", true},
		{"abd", "abc", false},
		{"ab", "abc", false},
		{"abcabc", "abc", false}, // repeats the token: the wrap-around must not pass it
		{"abca", "abc", false},
		{"", "abc", false},
		{"", "", false}, // an empty expected token never matches
		{"x", "", false},
		{strings.Repeat("0123456789abcdef", 64), strings.Repeat("0123456789abcdef", 64), true},
		{strings.Repeat("0123456789abcdef", 64) + "x", strings.Repeat("0123456789abcdef", 64), false},
		{strings.Repeat("0123456789abcdef", 63) + "0123456789abcdeF", strings.Repeat("0123456789abcdef", 64), false},
		{"Xbcdefgh" + "abcdefgh", "abcdefghabcdefgh", false}, // a difference in the first word
		{"abcdefghabcdefgX", "abcdefghabcdefgh", false},      // and in the last
		{"abcdefghi", "abcdefghi", true},                     // a word and a tail
		{"abcdefghI", "abcdefghi", false},
		{strings.Repeat("a", maxTokenLength+10), strings.Repeat("a", maxTokenLength+10), true}, // past the copy
		{strings.Repeat("a", maxTokenLength+10), "a", false},
	} {
		if got := NewToken(tt.want).Matches(tt.got); got != tt.ok {
			t.Errorf("matches(%.20q, %.20q) = %v", tt.got, tt.want, got)
		}
	}
}
