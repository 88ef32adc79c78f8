package bot

import "github.com/nightshift-ops/nightshift/engine"

// FollowUp answers a question asked in an investigation's thread from its
// report (engine.FollowUpAnswer) as a chat message.
func FollowUp(r *engine.Report, question string) Message {
	text, _ := engine.FollowUpAnswer(r, question)
	return Message{Text: text}
}
