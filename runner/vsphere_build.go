package runner

import (
	"context"
	"time"
)

// finishVSphere ends a vSphere build whose Packer run succeeded: its OVF
// export becomes the OVA (a vSphere base stays in vCenter as the kept
// template, which vsphereAfter has already named).
func (b *run) finishVSphere(ctx context.Context, fail func(Status, string, ...any)) {
	if b.asBase {
		b.res.Status = StatusSucceeded
		return
	}
	start := time.Now()
	file, err := b.vsphereOVA(ctx)
	b.logf("OVA packed from the OVF export in %.1fs", time.Since(start).Seconds())
	if err != nil {
		if ctx.Err() != nil {
			fail(StatusCancelled, "cancelled while packing the OVA: %v", context.Cause(ctx))
			return
		}
		fail(StatusFailed, "pack the OVF export: %v", err)
		return
	}
	sum, err := fileOf(file.Path+".sha256", "sha256")
	if err != nil {
		fail(StatusFailed, "pack the OVF export: %v", err)
		return
	}
	b.res.Files = []File{file, sum}
	b.res.Status = StatusSucceeded
}
