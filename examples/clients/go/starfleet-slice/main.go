// Command starfleet-slice prints one slice of the Starfleet secret, read
// from the starfleet-secrets extension through the Go client package
// (github.com/starfleet/starfleet-secrets/client):
//
//	go build -o starfleet-slice ./examples/clients/go/starfleet-slice
//	STARFLEET_SECRETS_TOKEN=... ./starfleet-slice GitHubSyncWorker
//
// In a handler, make one client and decode the slice into your own type:
//
//	c, err := client.New()
//	var orgs map[string]struct{ AppId, InstallationId, PrivateKey string }
//	err = c.Decode(ctx, "GitHubSyncWorker", &orgs)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/starfleet/starfleet-secrets/client"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: starfleet-slice SLICE")
		return 2
	}
	c, err := client.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	raw, err := c.Slice(ctx, args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		fmt.Fprintln(os.Stderr, "error: the extension answered something other than JSON:", err)
		return 1
	}
	fmt.Println(out.String())
	return 0
}
