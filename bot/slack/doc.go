// Package slack is Nightshift's Slack surface: a pure Block Kit renderer for
// the platform-neutral bot.Message (Blocks, Fallback) and a bot.Poster that
// posts and edits those messages through the Slack Web API (Poster). The
// Socket Mode transport (events, slash commands, button actions) is meant
// to live here too; slacktest holds a local fake of the Web API and of the
// Socket Mode websocket so that tests run the real slack-go client.
//
// It must not import integrations, store, server or cmd, nor any other chat
// transport: it talks to the rest of Nightshift only through bot and engine,
// and no slack-go type crosses into those packages. Rendering does no I/O;
// sending is confined to Poster.
package slack
