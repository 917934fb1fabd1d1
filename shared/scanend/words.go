package scanend

import (
	"regexp"
	"strings"
)

var (
	// An SDK error: "operation error DynamoDB: PutItem, https response error
	// StatusCode: 400, RequestID: …, api error ValidationException: …".
	sdkOpRe   = regexp.MustCompile(`operation error ([A-Za-z0-9 ]+): ([A-Za-z0-9]+),.*?(?:api error ([A-Za-z0-9.]+):.*)?$`)
	arnRe     = regexp.MustCompile(`arn:aws[a-z-]*:[^\s,;"'()]+`)
	requestRe = regexp.MustCompile(`(?i)\b(request ?id|x-amzn-requestid)[:=]\s*[\w-]+`)
)

// plain makes one line of a message for a user: an SDK error becomes the
// call and its error code ("the DynamoDB PutItem call failed
// (ValidationException)"), ARNs and request ids are dropped, white space is
// folded.
func plain(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if m := sdkOpRe.FindStringSubmatchIndex(msg); m != nil {
		service, op := msg[m[2]:m[3]], msg[m[4]:m[5]]
		call := "the " + strings.TrimSpace(service) + " " + op + " call failed"
		if m[6] >= 0 {
			call += " (" + msg[m[6]:m[7]] + ")"
		}
		msg = strings.TrimRight(strings.TrimSpace(msg[:m[0]]), ": ")
		if msg != "" {
			msg += ": "
		}
		msg += call
	}
	msg = arnRe.ReplaceAllString(msg, "[ARN in the logs]")
	msg = requestRe.ReplaceAllString(msg, "")
	return strings.Join(strings.Fields(msg), " ")
}
