package extension_test

import (
	"slices"
	"testing"

	"github.com/starfleet/starfleet-secrets/extension"
	"github.com/starfleet/starfleet-secrets/extension/extensiontest"
)

// TestRegisterFor: each model registers for what it allows, and a platform
// that refuses INVOKE gets a second registration for SHUTDOWN alone.
func TestRegisterFor(t *testing.T) {
	for _, tt := range []struct {
		name        string
		opts        extensiontest.Options
		invokes     bool
		refused     bool
		wantEvents  []string
		wantRegCall int
	}{
		{"on-demand", extensiontest.Options{Model: extension.OnDemand}, true, false, []string{"INVOKE", "SHUTDOWN"}, 1},
		{"provisioned", extensiontest.Options{Model: extension.ProvisionedConcurrency}, true, false, []string{"INVOKE", "SHUTDOWN"}, 1},
		{"snap-start", extensiontest.Options{Model: extension.SnapStart}, true, false, []string{"INVOKE", "SHUTDOWN"}, 1},
		{"managed instances", extensiontest.Options{Model: extension.ManagedInstances}, false, false, []string{"SHUTDOWN"}, 1},
		{"INVOKE refused", extensiontest.Options{RefuseInvoke: true}, false, true, []string{"SHUTDOWN"}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := extensiontest.NewTestServer(t, tt.opts)
			c := extension.NewClient(srv.RuntimeAPI(), nil)
			model := tt.opts.Model
			if model == "" {
				model = extension.OnDemand
			}
			invokes, refused, err := c.RegisterFor(t.Context(), "ext", model)
			if err != nil {
				t.Fatal(err)
			}
			if invokes != tt.invokes || (refused != nil) != tt.refused {
				t.Errorf("invokes %v, refused %v; want %v, %v", invokes, refused, tt.invokes, tt.refused)
			}
			regs := srv.Registrations()
			if len(regs) != tt.wantRegCall || !slices.Equal(regs[len(regs)-1].Events, tt.wantEvents) {
				t.Errorf("registrations %+v, want %d ending with %v", regs, tt.wantRegCall, tt.wantEvents)
			}
		})
	}
}

func TestModelRules(t *testing.T) {
	for _, tt := range []struct {
		model              extension.Model
		invoke, prefetches bool
	}{
		{extension.OnDemand, true, true},
		{extension.ProvisionedConcurrency, true, true},
		{extension.SnapStart, true, false},
		{extension.ManagedInstances, false, true},
		{"next-big-thing", true, true},
	} {
		if tt.model.AcceptsInvoke() != tt.invoke || tt.model.PrefetchesDuringInit() != tt.prefetches {
			t.Errorf("%s: AcceptsInvoke %v, PrefetchesDuringInit %v", tt.model, tt.model.AcceptsInvoke(), tt.model.PrefetchesDuringInit())
		}
	}
}
