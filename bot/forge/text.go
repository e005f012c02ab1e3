package forge

import "fmt"

// ShortSHA is the first 8 characters of a commit id, for messages.
func ShortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

// Truncate cuts s to at most n bytes, ending in "…" when it cuts, without
// splitting a UTF-8 character. Forges count characters; bytes are never
// fewer, so a body cut to the forge's limit in bytes is always accepted.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	if n < len(ellipsis) {
		return ""
	}
	cut := n - len(ellipsis)
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + ellipsis
}

// PermissionWords names a permission in GitHub's words, the default of an
// adapter that has no words of its own.
func PermissionWords(p Permission) string {
	switch p {
	case PermissionNone:
		return "no access"
	case PermissionRead:
		return "read or triage permission"
	case PermissionWrite:
		return "write permission"
	case PermissionMaintain:
		return "maintain permission"
	case PermissionAdmin:
		return "admin permission"
	}
	return fmt.Sprintf("permission %d", int(p))
}
