package forge

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// TestEventDecodesAPayloadQueuedBeforeTheTags: event jobs queued before
// forge.Event had JSON tags were encoded with the Go field names (and
// fields since removed); they still decode to the same event.
func TestEventDecodesAPayloadQueuedBeforeTheTags(t *testing.T) {
	raw, err := os.ReadFile("testdata/event-untagged.json")
	if err != nil {
		t.Fatal(err)
	}
	var args struct {
		Event Event `json:"event"` // bot.EventArgs
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		t.Fatal(err)
	}
	want := Event{Forge: "gitlab", DeliveryID: "6f1f3a0e-2f4b-4c55-9a8e-0d1c2b3a4f5e", Type: MergeRequestComment,
		Repo: Repo{ID: 42, FullName: "infra/images", CloneURL: "https://gitlab.example.test/infra/images.git", DefaultBranch: "main",
			WebURL: "https://gitlab.example.test/infra/images"},
		MR: &MergeRequest{Number: 7, Title: "rocky9: newer kernel", Author: "alice", HeadSHA: "3f5a9c1e0b7d2a4c6e8f1a3b5c7d9e0f2a4b6c8d",
			HeadBranch: "rocky9-kernel", TargetBranch: "main", SourceRepo: Repo{ID: 42, FullName: "infra/images"}, State: "opened",
			WebURL: "https://gitlab.example.test/infra/images/-/merge_requests/7"},
		Actor: "alice", Comment: "/build rocky9", Before: "1111111111111111111111111111111111111111"}
	if !reflect.DeepEqual(args.Event, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", args.Event, want)
	}
	if !reflect.DeepEqual(args.Event.MR, want.MR) {
		t.Errorf("MR decoded %+v, want %+v", args.Event.MR, want.MR)
	}
}

// TestStoredTypesTagEveryField keeps the stored names fixed:
// a renamed field must keep its old name in its tag.
func TestStoredTypesTagEveryField(t *testing.T) {
	for _, v := range []any{Event{}, Repo{}, MergeRequest{}, Status{}} {
		typ := reflect.TypeOf(v)
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			if tag := f.Tag.Get("json"); tag == "" {
				t.Errorf("%s.%s has no json tag", typ.Name(), f.Name)
			}
		}
	}
	// The names the queued jobs carry today.
	raw, err := json.Marshal(Event{MR: &MergeRequest{}})
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Forge", "DeliveryID", "Type", "Repo", "MR", "Actor", "Comment", "Ref", "Before", "After"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("an encoded event lacks %q: %s", k, raw)
		}
	}
}
