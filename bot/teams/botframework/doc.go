// Package botframework implements the parts of the Bot Framework protocol
// that github.com/infracloudio/msbotbuilder-go v0.2.5 gets wrong, so that
// Nightshift's Teams surface keeps only the library's schema types and its
// inbound request parsing:
//
//   - Validator checks the bearer token of an inbound activity: keys from
//     the OpenID metadata's JWKS (cached, refreshed on an unknown key id at
//     most once a minute), RS256/RS384/RS512 only, issuer, audience (the
//     bot's app id), expiry and not-before with clock skew, the serviceurl
//     claim against the activity, and the signing key's channel
//     endorsements. It also satisfies the library's auth.TokenValidator, so
//     it plugs into core.BotFrameworkAdapter.TokenValidator and
//     ParseRequest validates with it.
//   - TokenSource gets the bot's outbound client-credentials tokens from a
//     configurable token URL (single-tenant bots, sovereign clouds, tests),
//     caches them, collapses concurrent refreshes and retries transient
//     failures.
//   - Connector is the outbound Bot Connector REST client: it starts
//     conversations (a new thread in a Teams channel), sends, replies and
//     updates activities, returns the ids the library discards, honours 429
//     Retry-After and retries 5xx.
//
// Outbound calls must never go through the library's client.ConnectorClient
// (core.BotFrameworkAdapter's SendActivity, ProactiveMessage,
// UpdateActivity, DeleteActivity): it dereferences a nil response when the
// token request fails at the network level, which kills a background
// goroutine's process. This package imports only the library's schema and
// connector/auth packages, neither of which imports that client.
//
// Errors are wrapped with what failed. A rejected inbound token is an
// *AuthError, which matches ErrUnauthorized (answer 401 with its Reason);
// keys that cannot be fetched give ErrKeysUnavailable (answer 503 so that
// the channel retries). A failed outbound call that got an answer is an
// *APIError with the status and the start of the body.
//
// It imports nothing of the project. Every type is safe for concurrent use.
package botframework
