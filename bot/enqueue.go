package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/imagebot/imagebot/bot/command"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner/catalog"
)

// capability says which build hosts can build img: vsphere or kvm (QEMU).
func capability(img *catalog.Image) string {
	for _, s := range img.Template.Sources {
		if strings.HasPrefix(s.Type, "vsphere") {
			return "vsphere"
		}
	}
	return "kvm"
}

func newID() string {
	var x [6]byte
	_, _ = rand.Read(x[:])
	return time.Now().UTC().Format("20060102-150405-") + hex.EncodeToString(x[:])
}

// enqueueBuilds queues a build per named image at the MR head (no names:
// the images the MR changes). gens, when set, gives each image's retry generation.
func (b *Bot) enqueueBuilds(ctx context.Context, f forge.Forge, forgeName string, repo forge.Repo, mr forge.MergeRequest,
	names []string, force bool, only string, gens map[string]int, actor string) ([]string, error) {
	cat, notices, err := b.checkout(ctx, f, repo, mr)
	if err != nil || cat == nil {
		return notices, err
	}
	if len(names) == 0 {
		names = b.changedImages(ctx, f, repo, mr, cat)
		if len(names) == 0 {
			return []string{"`/build`: this merge request changes no image; name one, e.g. `/build " + firstOr(cat.Order, "<image>") + "`"}, nil
		}
	}
	url := repo.CloneURL
	if mr.FromFork && mr.SourceRepo.CloneURL != "" {
		url = mr.SourceRepo.CloneURL
	}
	err = b.q.InTx(ctx, func(tx queue.Tx) error {
		if err := state.UpsertMR(ctx, tx, forgeName, repo, mr.Number, mr.HeadSHA); err != nil {
			return err
		}
		for _, name := range names {
			img := cat.Images[name]
			if img == nil {
				notices = append(notices, "`/build`: "+command.UnknownImage(name, cat.Order).Error())
				continue
			}
			gen := gens[name]
			if force && gen == 0 {
				gen = int(time.Now().Unix())
			}
			args := BuildArgs{BuildID: newID(), Forge: forgeName, RepoName: repo.FullName, Repo: repo, CloneURL: url,
				MR: mr.Number, SHA: mr.HeadSHA, Image: name, Digest: img.Digest, Gen: gen, Force: force, Only: only,
				TriggeredBy: actor}
			res, err := tx.Insert(ctx, args, jobs.BuildOpts(capability(img)))
			if err != nil {
				return fmt.Errorf("enqueue build of %s: %w", name, err)
			}
			if res.UniqueSkippedAsDuplicate {
				notices = append(notices, fmt.Sprintf("%s at %s (%s) is already %s; not queued again (`/build %s --force` rebuilds)",
					name, forge.ShortSHA(mr.HeadSHA), shortDigest(img.Digest), jobStateWords(res.Job.State), name))
				continue
			}
			if err := state.InsertBuild(ctx, tx, state.NewBuild{ID: args.BuildID, JobID: res.Job.ID, Forge: forgeName,
				Repo: repo, MR: mr.Number, SHA: mr.HeadSHA, Image: name, Digest: img.Digest, Gen: gen, TriggeredBy: actor}); err != nil {
				return err
			}
		}
		return bumpReport(ctx, tx, forgeName, repo, mr.Number)
	})
	return notices, err
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		return "sha256:" + d[:12]
	}
	return d
}

func jobStateWords(s rivertype.JobState) string {
	switch s {
	case rivertype.JobStateCompleted:
		return "built"
	case rivertype.JobStateRunning:
		return "building"
	default:
		return "queued"
	}
}

// retry re-queues, at the MR's current head, every image whose latest
// build did not succeed.
func (b *Bot) retry(ctx context.Context, f forge.Forge, ev forge.Event, mr forge.MergeRequest) ([]string, error) {
	var builds []Build
	err := b.q.InTx(ctx, func(tx queue.Tx) error {
		var err error
		builds, err = state.MRBuilds(ctx, tx, ev.Forge, ev.Repo.FullName, mr.Number)
		return err
	})
	if err != nil {
		return nil, err
	}
	gens := map[string]int{}
	var names []string
	for _, bd := range builds {
		if bd.Done() && bd.Status != "succeeded" {
			names = append(names, bd.Image)
			gens[bd.Image] = bd.Gen + 1
		}
	}
	if len(names) == 0 {
		return []string{"`/retry`: no failed build to retry on this merge request"}, nil
	}
	return b.enqueueBuilds(ctx, f, ev.Forge, ev.Repo, mr, names, false, "", gens, ev.Actor)
}

// cancelMR cancels an MR's queued builds, and its running ones unless
// queuedOnly, optionally only of some images.
func (b *Bot) cancelMR(ctx context.Context, forgeName string, repo forge.Repo, mr int, images []string, queuedOnly bool, why string) error {
	return b.cancelWhere(ctx, forgeName, repo, mr, func(bd Build) bool {
		if queuedOnly && bd.Status != statusQueued {
			return false
		}
		return len(images) == 0 || contains(images, bd.Image)
	}, why)
}

// supersede cancels the builds of an MR's older heads after a push.
func (b *Bot) supersede(ctx context.Context, ev forge.Event) error {
	head := ev.MR.HeadSHA
	return b.cancelWhere(ctx, ev.Forge, ev.Repo, ev.MR.Number, func(bd Build) bool { return bd.SHA != head },
		"superseded by a push ("+forge.ShortSHA(head)+")")
}

func (b *Bot) cancelWhere(ctx context.Context, forgeName string, repo forge.Repo, mr int, match func(Build) bool, why string) error {
	var running []string
	err := b.q.InTx(ctx, func(tx queue.Tx) error {
		builds, err := state.ActiveMRBuilds(ctx, tx, forgeName, repo.FullName, mr)
		if err != nil {
			return err
		}
		if len(builds) == 0 {
			return nil
		}
		for _, bd := range builds {
			if !match(bd) || bd.Kind == kindRelease { // a release has only its own cancel (issue 11 item 9)
				continue
			}
			if err := tx.Cancel(ctx, bd.JobID); err != nil {
				return fmt.Errorf("cancel job %d: %w", bd.JobID, err)
			}
			if bd.Status == statusQueued {
				err = state.UpdateBuild(ctx, tx, bd.ID, state.Status("cancelled"), state.Note(why), state.Finished(time.Now()))
			} else {
				running = append(running, bd.ID)
				err = state.UpdateBuild(ctx, tx, bd.ID, state.Note("cancelling: "+why))
			}
			if err != nil {
				return err
			}
		}
		return bumpReport(ctx, tx, forgeName, repo, mr)
	})
	if err != nil {
		return err
	}
	// Builds running here stop now; elsewhere River tells their runner.
	b.mu.Lock()
	for _, id := range running {
		if cancel := b.running[id]; cancel != nil {
			cancel()
		}
	}
	b.mu.Unlock()
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
