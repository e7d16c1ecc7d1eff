// Package notify sends strata's drift and apply notifications to webhooks.
//
// Two kinds of target are supported: a generic webhook, which receives the
// Event as a JSON body, and a Slack-compatible incoming webhook, which
// receives {"text": ...} with a short summary (Mattermost, Rocket.Chat and
// Microsoft Teams' Slack-compatible endpoints accept the same body).
//
// A notification carries addresses, messages and field paths, never field
// values: values may be secrets. Target URLs and headers are credentials
// too: errors name the target, never its URL. Failed deliveries (network
// errors, 429 and 5xx answers) are retried with exponential backoff.
package notify
