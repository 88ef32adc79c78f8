// Package slack is Nightshift's Slack surface:
//
//   - Blocks and Fallback: a pure Block Kit renderer for the platform-neutral
//     bot.Message;
//   - Poster: posts, edits, uploads (files.uploadV2) and streams
//     (chat.startStream/appendStream/stopStream) through the Web API,
//     honouring Retry-After; it implements bot.Poster, bot.Uploader and
//     bot.Streamer;
//   - Bot: the Socket Mode app. It acknowledges every envelope at once,
//     drops deliveries another replica already handled (a Dedup backed by
//     Redis), decodes app mentions, channel messages, reactions, /devops
//     and button clicks into bot types and hands them to a bot.Service on a
//     bounded pool of workers. Private answers go through the slash
//     command's response_url or chat.postEphemeral, public ones into the
//     thread.
//
// deploy/slack/manifest.yaml is the app's manifest; Events, Scopes and
// Command list what the code uses and a test keeps the two in step.
// slacktest holds a local fake of the Web API and of the Socket Mode
// websocket so that tests run the real slack-go client.
//
// It must not import integrations, store, server or cmd, nor any other chat
// transport: it talks to the rest of Nightshift only through bot and engine,
// and no slack-go type crosses into those packages.
package slack
